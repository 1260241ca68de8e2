using Scalar.AspNetCore;

namespace Felix.Server.Api.OpenApi;

/// <summary>The OpenAPI document (<c>/openapi/v1.json</c>) and its reference page (<c>/docs</c>).</summary>
internal static class OpenApiExtensions
{
    public static IServiceCollection AddFelixOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            // HEAD is GET without the body on every GET endpoint (HeadRequests), as RFC 9110 defines it: each operation once.
            var include = options.ShouldInclude;
            options.ShouldInclude = description => !HttpMethods.IsHead(description.HttpMethod ?? "") && include(description);
            options.AddDocumentTransformer<FelixDocumentTransformer>()
                .AddOperationTransformer<ProblemExamplesTransformer>()
                .AddOperationTransformer<QueryParameterTransformer>()
                .AddSchemaTransformer<RequestSchemaTransformer>();
        });

    public static WebApplication MapFelixOpenApi(this WebApplication app)
    {
        app.MapOpenApi().AllowHead();
        app.MapScalarApiReference("/docs", options => options.WithTitle("Felix Server API").DisableDefaultFonts()).AllowHead();
        return app;
    }
}
