using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Felix.Server.Platform;

internal static class SettingsValidation
{
    /// <summary>
    /// Data annotations (and <see cref="IValidatableObject"/>), reported one failure per problem, each starting with the
    /// setting's full path (<c>Felix:Workflows:MaxConcurrent: The field MaxConcurrent must be between 1 and 256.</c>), so an
    /// operator knows what to change whether it came from a file, <c>Felix__Workflows__MaxConcurrent</c> or the command line.
    /// </summary>
    public static OptionsBuilder<TOptions> ValidateSettings<TOptions>(this OptionsBuilder<TOptions> builder, string sectionName)
        where TOptions : class
    {
        builder.Services.AddSingleton<IValidateOptions<TOptions>>(new AnnotatedSettingsValidator<TOptions>(builder.Name, sectionName));
        return builder;
    }

    private sealed class AnnotatedSettingsValidator<TOptions>(string? name, string sectionName) : IValidateOptions<TOptions>
        where TOptions : class
    {
        public ValidateOptionsResult Validate(string? optionsName, TOptions options)
        {
            if (name is not null && name != optionsName)
            {
                return ValidateOptionsResult.Skip;
            }

            var results = new List<ValidationResult>();
            var context = new ValidationContext(options);
            if (Validator.TryValidateObject(options, context, results, validateAllProperties: true))
            {
                return ValidateOptionsResult.Success;
            }

            // The validator asks an IValidatableObject only once every property passed (then its problems are here
            // already): an operator should read every problem of one start, not one more after each fix.
            if (options is IValidatableObject self)
            {
                results.AddRange(self.Validate(context).Where(more => !results.Any(r => r.ErrorMessage == more.ErrorMessage)).ToList());
            }

            return ValidateOptionsResult.Fail(results.Select(Describe));
        }

        private string Describe(ValidationResult result)
        {
            var message = result.ErrorMessage ?? "is not valid.";
            // Messages written for operators already name their path.
            if (message.StartsWith(sectionName + ":", StringComparison.Ordinal))
            {
                return message;
            }

            var members = result.MemberNames.ToList();
            return members.Count == 0
                ? $"{sectionName}: {message}"
                : $"{string.Join(", ", members.Select(m => sectionName + ":" + m))}: {message}";
        }
    }
}
