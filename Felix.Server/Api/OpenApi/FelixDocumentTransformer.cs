using System.Reflection;
using Felix.Server.Platform;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Felix.Server.Api.OpenApi;

/// <summary>
/// The document as a whole: the product's name and version, an introduction to the interfaces the REST API is only
/// the front door of (the hubs, the raw WebSocket protocol), and the bearer scheme every endpoint requires.
/// </summary>
internal sealed class FelixDocumentTransformer : IOpenApiDocumentTransformer
{
    public const string BearerScheme = "Bearer";

    private const string IntroductionTemplate = """
        Felix Server runs multi-agent LLM workflows and streams every step live. This REST API starts, reads, lists and
        cancels workflows; the live events come through the real-time interfaces:

        - **SignalR hubs** (JSON or MessagePack): `/hubs/workflows` (subscribe to a workflow, stream its events, resume
          after a sequence) and `/hubs/system` (server-wide events, admin scope). Methods, events and resume semantics:
          [docs/hubs.md]({repository}/blob/main/docs/hubs.md).
        - **Raw WebSocket protocol** of the original Felix server: `/api/v1/ws/workflows/{id}` and
          `/api/v1/ws/system/events`, resumable by `last_event_id`:
          [docs/compatibility.md]({repository}/blob/main/docs/compatibility.md).
        - **Clients**: the .NET library `Felix.Client` and the `felix` console app:
          [docs/clients.md]({repository}/blob/main/docs/clients.md).

        **Authentication.** With a key configured, send `Authorization: Bearer <key>` (an API key or a JWT); the hubs take
        it as `access_token` and the raw sockets as `api_key` in the query. Without one the server is open (development).
        Keys, tenants, scopes, limits: [docs/security.md]({repository}/blob/main/docs/security.md).

        **Errors** are RFC 9457 problem details (`application/problem+json`) with `type`, `title`, `status`, `detail`
        (or `errors` per field for 422) and `trace_id`. 429 and 503 carry `Retry-After`.
        """;

    /// <summary>Where the docs live: the build's <c>RepositoryUrl</c> (Directory.Build.props), the packages' one too.</summary>
    public static string RepositoryUrl { get; } =
        typeof(FelixDocumentTransformer).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "RepositoryUrl")?.Value ?? "";

    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "Felix Server API",
            Version = SystemApi.Version,
            Description = IntroductionTemplate.Replace("{repository}", RepositoryUrl, StringComparison.Ordinal),
            License = new OpenApiLicense { Name = "MIT", Identifier = "MIT" },
        };
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API key (FELIX_API_KEY or Felix:Security:ApiKeys) or a JWT when Felix:Security:Jwt is set.",
        };
        document.Security ??= [];
        document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, document)] = [] });
        return Task.CompletedTask;
    }
}
