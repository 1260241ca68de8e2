using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Felix.Server.Platform;

/// <summary>
/// Runs the validated options and every <see cref="IStartupCheck"/> before the host starts: as a lifecycle service (so a
/// host started by a test gets them too) and, for the real process, from <c>RunFelixAsync</c>, which turns a refusal
/// into one log line per problem and exit code 1 instead of an unhandled exception and its stack.
/// </summary>
internal sealed partial class FelixStartup(IServiceProvider services) : IHostedLifecycleService
{
    private readonly Lock _gate = new();
    private bool _checked;

    /// <summary>Options first: the checks read them. Once per host, whichever of the two callers comes first.</summary>
    public void Check()
    {
        lock (_gate)
        {
            if (_checked)
            {
                return;
            }

            services.GetService<IStartupValidator>()?.Validate();
            foreach (var check in services.GetServices<IStartupCheck>())
            {
                check.Check();
            }

            _checked = true;
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        Check();
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The problems, one line each, that stop the start; empty for an exception that is not about configuration.</summary>
    public static IReadOnlyList<string> Problems(Exception exception) => exception switch
    {
        StartupException refused => [refused.Message],
        OptionsValidationException invalid => invalid.Failures.ToList(),
        AggregateException many => many.InnerExceptions.SelectMany(Problems).ToList(),
        // The binder's own message names the setting's path ("Failed to convert configuration value 'x' at 'Felix:…'").
        InvalidOperationException { InnerException: { } cause } bind when bind.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal) =>
            [$"{bind.Message} {cause.Message}{AllowedValues(bind.Message)}"],
        _ => [],
    };

    /// <summary>For a setting of one of Felix's enums, the names it accepts.</summary>
    private static string AllowedValues(string bindMessage) =>
        TargetType().Match(bindMessage) is { Success: true } match && typeof(FelixStartup).Assembly.GetType(match.Groups[1].Value) is { IsEnum: true } type
            ? $" Allowed: {string.Join(", ", Enum.GetNames(type))}."
            : "";

    [GeneratedRegex("to type '([^']+)'")]
    private static partial Regex TargetType();
}
