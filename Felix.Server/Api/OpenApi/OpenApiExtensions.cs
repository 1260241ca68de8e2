using Scalar.AspNetCore;

namespace Felix.Server.Api.OpenApi;

/// <summary>The OpenAPI document (<c>/openapi/v1.json</c>) and its reference page (<c>/docs</c>).</summary>
internal static class OpenApiExtensions
{
    public static IServiceCollection AddFelixOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(options => options
            .AddDocumentTransformer<FelixDocumentTransformer>()
            .AddOperationTransformer<ProblemExamplesTransformer>()
            .AddSchemaTransformer<RequestSchemaTransformer>());

    public static WebApplication MapFelixOpenApi(this WebApplication app)
    {
        app.MapOpenApi();
        app.MapScalarApiReference("/docs", options => options.WithTitle("Felix Server API").DisableDefaultFonts());
        return app;
    }
}
