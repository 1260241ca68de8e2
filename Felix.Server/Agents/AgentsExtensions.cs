using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using OpenAI;
using Polly;

namespace Felix.Server.Agents;

internal static class AgentsExtensions
{
    public const string LlmHttpClientName = "felix-llm";

    /// <summary>The helix, the agent roles, the workflow pipeline and the model: offline unless <c>Felix:Llm</c> names another.</summary>
    public static IServiceCollection AddAgents(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<HelixOptions>().BindConfiguration(HelixOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<LlmOptions>().BindConfiguration(LlmOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<HelixGeometry>();
        services.AddSingleton<AgentRegistry>();
        services.AddSingleton<ActiveAgents>();
        services.AddSingleton<HelixWorkflow>();

        var llm = configuration.GetSection(LlmOptions.SectionName).Get<LlmOptions>() ?? new LlmOptions();
        if (llm.IsOffline)
        {
            services.AddChatClient(sp => ActivatorUtilities.CreateInstance<OfflineChatClient>(sp));
            return services;
        }

        services.AddHttpClient(LlmHttpClientName, (sp, client) =>
            {
                // The resilience pipeline below owns timeouts; the client's own would cut long streams short.
                client.Timeout = Timeout.InfiniteTimeSpan;
            })
            .AddResilienceHandler("llm", (pipeline, context) =>
            {
                var options = context.ServiceProvider.GetRequiredService<IOptions<LlmOptions>>().Value;
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = Math.Max(1, options.MaxRetries),
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromMilliseconds(200),
                    ShouldRetryAfterHeader = true,
                });
                pipeline.AddTimeout(options.RequestTimeout);
            });

        services.AddChatClient(sp =>
            {
                var options = sp.GetRequiredService<IOptions<LlmOptions>>().Value;
                var http = sp.GetRequiredService<IHttpClientFactory>().CreateClient(LlmHttpClientName);
                var client = new OpenAIClient(new ApiKeyCredential(options.ApiKey ?? "not-needed"), new OpenAIClientOptions
                {
                    Endpoint = options.Endpoint,
                    Transport = new HttpClientPipelineTransport(http),
                    // Retries happen once, in the resilience pipeline, not again inside the SDK.
                    RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
                    NetworkTimeout = options.RequestTimeout,
                });
                return client.GetChatClient(options.Model).AsIChatClient();
            })
            .UseLogging()
            .UseOpenTelemetry(sourceName: "Felix.Llm");
        return services;
    }
}
