using FluentValidation;

namespace Felix.Server.Api;

/// <summary>
/// Validates the <typeparamref name="T"/> argument with its FluentValidation validator and answers 422 with a problem
/// naming every bad field, as the original did.
/// </summary>
internal sealed class ValidationFilter<T>(IValidator<T> validator) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var argument = context.Arguments.OfType<T>().FirstOrDefault();
        if (argument is null)
        {
            return ApiProblems.Validation(new Dictionary<string, string[]> { ["body"] = ["A JSON object body is required."] });
        }

        var result = await validator.ValidateAsync(argument, context.HttpContext.RequestAborted);
        if (result.IsValid)
        {
            return await next(context);
        }

        return ApiProblems.Validation(result.Errors
            .GroupBy(e => e.PropertyName)
            .ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage).ToArray()));
    }
}
