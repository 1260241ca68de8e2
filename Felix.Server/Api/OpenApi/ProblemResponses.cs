using Microsoft.AspNetCore.Mvc;

namespace Felix.Server.Api.OpenApi;

/// <summary>
/// Declares the problem answers an endpoint really gives, with the title it gives them under, so the OpenAPI document
/// lists every error a client must handle and shows it as it arrives (<see cref="ProblemExamplesTransformer"/>).
/// <c>OpenApiDocumentTests</c> provokes each declared status and checks the title.
/// </summary>
internal static class ProblemResponses
{
    public const string ContentType = "application/problem+json";

    /// <summary>
    /// Stands for the configured <c>Felix:Workflows:RetryAfterSeconds</c> in an example's detail: the examples are
    /// declared when the routes are mapped, and <see cref="ProblemExamplesTransformer"/> writes the value the server answers.
    /// </summary>
    public const string RetryAfterSeconds = "{retry_after_seconds}";

    /// <summary>The problem <c>type</c> the server writes for each status (ASP.NET Core's defaults, and ours for 429).</summary>
    public static readonly IReadOnlyDictionary<int, string> Types = new Dictionary<int, string>
    {
        [StatusCodes.Status400BadRequest] = "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        [StatusCodes.Status401Unauthorized] = "https://tools.ietf.org/html/rfc9110#section-15.5.2",
        [StatusCodes.Status403Forbidden] = "https://tools.ietf.org/html/rfc9110#section-15.5.4",
        [StatusCodes.Status404NotFound] = "https://tools.ietf.org/html/rfc9110#section-15.5.5",
        [StatusCodes.Status409Conflict] = "https://tools.ietf.org/html/rfc9110#section-15.5.10",
        [StatusCodes.Status413PayloadTooLarge] = "https://tools.ietf.org/html/rfc9110#section-15.5.14",
        [StatusCodes.Status415UnsupportedMediaType] = "https://tools.ietf.org/html/rfc9110#section-15.5.16",
        [StatusCodes.Status422UnprocessableEntity] = "https://tools.ietf.org/html/rfc4918#section-11.2",
        [StatusCodes.Status429TooManyRequests] = "https://tools.ietf.org/html/rfc6585#section-4",
        [StatusCodes.Status503ServiceUnavailable] = "https://tools.ietf.org/html/rfc9110#section-15.6.4",
    };

    /// <summary>
    /// The endpoint (or every endpoint of a group) may answer <paramref name="status"/> with this problem; declare each
    /// problem a status can carry (503: busy, shutting down, storage unavailable), and each becomes a named example.
    /// </summary>
    public static TBuilder ProducesProblem<TBuilder>(this TBuilder builder, int status, string title, string detail, string? field = null)
        where TBuilder : IEndpointConventionBuilder
    {
        var body = status == StatusCodes.Status422UnprocessableEntity ? typeof(HttpValidationProblemDetails) : typeof(ProblemDetails);
        return builder.WithMetadata(
            new ProducesResponseTypeMetadata(status, body, [ContentType]),
            new ProblemExample(status, title, detail, field));
    }

    /// <summary>422 with the per-field errors, shown with one field's message.</summary>
    public static TBuilder ProducesValidationProblem<TBuilder>(this TBuilder builder, string field, string message)
        where TBuilder : IEndpointConventionBuilder =>
        builder.ProducesProblem(StatusCodes.Status422UnprocessableEntity, ApiProblems.ValidationTitle, message, field);

    /// <summary>401 for a missing or wrong key: every endpoint that requires authorization.</summary>
    public static TBuilder ProducesUnauthorized<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.ProducesProblem(StatusCodes.Status401Unauthorized, "Unauthorized", "An API key is required: send 'Authorization: Bearer <key>'.");

    /// <summary>503 when the store cannot be read or written (disk full, I/O errors, Redis unreachable): every route that needs it.</summary>
    public static TBuilder ProducesStorageUnavailable<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.ProducesProblem(StatusCodes.Status503ServiceUnavailable, StorageUnavailableProblem.Title,
            $"The database cannot be written. Retry after {RetryAfterSeconds} seconds.");

    /// <summary>
    /// 415 for a body sent with another <c>Content-Type</c> than JSON, or none: every endpoint that reads a JSON body
    /// (routing turns the request away before the handler, so the handler's own result types do not show it).
    /// </summary>
    public static TBuilder ProducesUnsupportedMediaType<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder =>
        builder.ProducesProblem(StatusCodes.Status415UnsupportedMediaType, BadRequestExceptionHandler.UnsupportedMediaTypeTitle,
            BadRequestExceptionHandler.UnsupportedMediaTypeDetail);

    /// <summary>400 when a query value or the body cannot be read as its type (<c>page=abc</c>, broken JSON).</summary>
    public static TBuilder ProducesMalformed<TBuilder>(this TBuilder builder, string detail)
        where TBuilder : IEndpointConventionBuilder =>
        builder.ProducesProblem(StatusCodes.Status400BadRequest, "Malformed request", detail);
}

/// <summary>Endpoint metadata: one problem answer as the server writes it (for 422, the message of one invalid field).</summary>
internal sealed record ProblemExample(int Status, string Title, string Detail, string? Field);

/// <summary>Endpoint metadata: an example body, of the request (no status) or of the response with that status.</summary>
internal sealed record BodyExample(int? Status, System.Text.Json.Nodes.JsonNode Body);

internal static class BodyExamples
{
    public static RouteHandlerBuilder WithRequestExample(this RouteHandlerBuilder builder, object body) =>
        builder.WithMetadata(new BodyExample(null, OpenApiJson.ToNode(body)));

    public static RouteHandlerBuilder WithResponseExample(this RouteHandlerBuilder builder, int status, object body) =>
        builder.WithMetadata(new BodyExample(status, OpenApiJson.ToNode(body)));
}
