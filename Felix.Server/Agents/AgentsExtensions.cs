using System.ClientModel;
using System.ClientModel.Primitives;
using Felix.Server.Observability;
using Felix.Server.Platform;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OpenAI;
using Polly;
using Polly.Telemetry;

namespace Felix.Server.Agents;

internal static class AgentsExtensions
{
    public const string LlmHttpClientName = "felix-llm";

    /// <summary>The helix, the agent roles and the model: offline unless <c>Felix:Llm</c> names another.</summary>
    public static IServiceCollection AddAgents(this IServiceCollection services)
    {
        services.AddOptions<HelixOptions>().BindConfiguration(HelixOptions.SectionName).ValidateSettings(HelixOptions.SectionName).ValidateOnStart();
        services.AddOptions<LlmOptions>().BindConfiguration(LlmOptions.SectionName).ValidateSettings(LlmOptions.SectionName).ValidateOnStart();
        services.AddSingleton<HelixGeometry>();
        services.AddSingleton<AgentRegistry>();
        services.AddSingleton<ActiveAgents>();
        services.AddSingleton<AgentModel>();

        services.AddSingleton<OfflineChatClient>();
        // Each attempt, retry and timed-out attempt of a model call is a Polly event logged as a warning (a timeout as
        // an error) with the exception's stack; they are per call, so Debug. A failed call is logged once by the
        // workflow runner.
        services.Configure<TelemetryOptions>(telemetry => telemetry.SeverityProvider = args =>
            args.Event.EventName is "ExecutionAttempt" or "OnRetry" or "OnTimeout" ? ResilienceEventSeverity.Debug : args.Event.Severity);
        var llmHttp = services.AddHttpClient(LlmHttpClientName, client =>
            {
                // The resilience pipeline below owns timeouts; the client's own would cut long streams short.
                client.Timeout = Timeout.InfiniteTimeSpan;
            })
            // Outside the resilience handler: it limits the silences in the answer that the retries handed back.
            .AddHttpMessageHandler(sp => new StreamSilenceHandler(sp.GetRequiredService<IOptions<LlmOptions>>().Value.RequestTimeout));
        llmHttp.AddResilienceHandler("llm", (pipeline, context) =>
            {
                var options = context.ServiceProvider.GetRequiredService<IOptions<LlmOptions>>().Value;
                var time = context.ServiceProvider.GetRequiredService<TimeProvider>();
                if (options.MaxRetries > 0)
                {
                    pipeline.AddRetry(new HttpRetryStrategyOptions
                    {
                        MaxRetryAttempts = options.MaxRetries,
                        BackoffType = DelayBackoffType.Exponential,
                        UseJitter = true,
                        Delay = TimeSpan.FromMilliseconds(200),
                        ShouldRetryAfterHeader = true,
                        // Polly waits out any Retry-After, however long (MaxDelay does not cap it): a spent quota that
                        // says "come back in an hour" would hold the workflow, silently, for hours.
                        ShouldHandle = args => ValueTask.FromResult(HttpClientResiliencePredicates.IsTransient(args.Outcome)
                            && !AsksToWaitLongerThan(args.Outcome.Result, options.MaxRetryDelay, time)),
                    });
                }

                pipeline.AddTimeout(options.RequestTimeout);
            });
        // Added after the resilience handler, so inside it: each attempt's answer, within the attempt's timeout.
        llmHttp.AddHttpMessageHandler(sp => new ApiKeyRedactionHandler(sp.GetRequiredService<IOptions<LlmOptions>>().Value.ApiKey));

        // Chosen when first resolved, not here: configuration sources added after registration (tests, hosting) count too.
        services.AddSingleton<IChatClient>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<LlmOptions>>().Value;
            return options.IsOffline ? sp.GetRequiredService<OfflineChatClient>() : CreateOpenAIClient(sp, options);
        });
        return services;
    }

    /// <summary>True when <paramref name="response"/> asks, with <c>Retry-After</c>, for a wait longer than <paramref name="limit"/>.</summary>
    internal static bool AsksToWaitLongerThan(HttpResponseMessage? response, TimeSpan limit, TimeProvider time) =>
        response?.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta > limit,
            { Date: { } date } => date - time.GetUtcNow() > limit,
            _ => false,
        };

    private static IChatClient CreateOpenAIClient(IServiceProvider services, LlmOptions options)
    {
        var http = services.GetRequiredService<IHttpClientFactory>().CreateClient(LlmHttpClientName);
        var client = new OpenAIClient(new ApiKeyCredential(options.ApiKey ?? "not-needed"), new OpenAIClientOptions
        {
            Endpoint = options.Endpoint,
            Transport = new HttpClientPipelineTransport(http),
            // Retries happen once, in the resilience pipeline, not again inside the SDK.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            // The SDK's own timeout spans the whole send, the resilience pipeline's retries and their waits included,
            // so it cut the first slow attempt short before it could be retried. The pipeline limits each attempt up
            // to the headers, StreamSilenceHandler the silences in the stream after them.
            NetworkTimeout = Timeout.InfiniteTimeSpan,
        });
        // No logging middleware: it logs every failed call with its stack, and the workflow runner already logs the
        // failure once, with the workflow's id and the cause.
        return client.GetChatClient(options.Model).AsIChatClient()
            .AsBuilder()
            // Spans and metrics only: given a logger (the services' one when none is passed) it also logs every failed
            // call with its stack.
            .UseOpenTelemetry(NullLoggerFactory.Instance, sourceName: WorkflowTracing.LlmSourceName)
            .Build(services);
    }
}
