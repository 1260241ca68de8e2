using System.Text;
using Felix.Server.Observability;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Felix.Server.Agents;

/// <summary>
/// The model as agents and the synthesis use it: one streamed call, its text and reasoning passed on as they arrive,
/// the usage the model reports, and the call's LLM metrics.
/// </summary>
internal sealed class AgentModel(IChatClient model, TimeProvider time, FelixMetrics metrics, IOptions<LlmOptions> llm)
{
    private readonly int _maxAnswer = llm.Value.MaxAnswerCharacters;

    /// <summary>
    /// Streams <paramref name="call"/>'s prompt through the model. When the call fails (the model throws, the run is
    /// cancelled, a delta cannot be published), the exception propagates and <paramref name="call"/> holds what streamed
    /// and what the model reported until then.
    /// </summary>
    public async Task<ModelResult> CallAsync(ModelCall call, float temperature, int maxTokens, CancellationToken cancellationToken)
    {
        var options = new ChatOptions { Temperature = temperature, MaxOutputTokens = maxTokens };
        var started = time.GetTimestamp();
        var failed = true;
        try
        {
            await using var updates = model.GetStreamingResponseAsync(call.Prompt, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
            while (await NextAsync(updates, call, cancellationToken))
            {
                // By index: a foreach over the IList would box its enumerator, once per token.
                var contents = updates.Current.Contents;
                for (var i = 0; i < contents.Count; i++)
                {
                    switch (contents[i])
                    {
                        case TextReasoningContent r when !string.IsNullOrEmpty(r.Text):
                            await AppendAsync(call, call.Thought, r.Text);
                            if (call.Reasoning is not null)
                            {
                                await call.Reasoning.AddAsync(r.Text);
                            }

                            break;
                        case TextContent t when !string.IsNullOrEmpty(t.Text):
                            await AppendAsync(call, call.Content, t.Text);
                            if (call.Text is not null)
                            {
                                await call.Text.AddAsync(t.Text);
                            }

                            break;
                        case UsageContent u:
                            call.PromptTokens += u.Details.InputTokenCount ?? 0;
                            call.CompletionTokens += u.Details.OutputTokenCount ?? 0;
                            break;
                    }
                }
            }

            if (call.Content.Length == 0)
            {
                // An empty answer (a reasoning model that spent its budget thinking, a broken chat template) would
                // otherwise end an agent without output or complete a workflow with an empty synthesis.
                await call.FlushAsync();
                throw new ModelAnswerException(ModelAnswerException.Empty, new InvalidDataException("The stream ended without any text."));
            }

            failed = false;
        }
        finally
        {
            call.Latency = time.GetElapsedTime(started);
            metrics.LlmCall(call.PromptTokens, call.CompletionTokens, call.Latency, failed);
        }

        await call.FlushAsync();
        return new ModelResult(
            call.Content.ToString(), call.PromptTokens, call.CompletionTokens, Math.Round(time.GetElapsedTime(started).TotalMilliseconds, 1));
    }

    /// <summary>
    /// Keeps <paramref name="text"/>, unless it takes the answer past the longest one taken: then nothing of it is
    /// published, but what came before it is.
    /// </summary>
    private async ValueTask AppendAsync(ModelCall call, StringBuilder answer, string text)
    {
        if (answer.Length + text.Length > _maxAnswer)
        {
            await call.FlushAsync();
            throw new ModelAnswerException(ModelAnswerException.TooLong(_maxAnswer), new InvalidDataException("The answer ran past Felix:Llm:MaxAnswerCharacters."));
        }

        answer.Append(text);
    }

    /// <summary>
    /// The next part of the answer. Only faults of reading it are turned into <see cref="ModelAnswerException"/>, not
    /// those of publishing its deltas. A connection that fails before the answer begins is an
    /// <see cref="HttpRequestException"/> (retried), never an <see cref="IOException"/> here. On any fault of reading
    /// but the run's own cancellation, the text still waiting in the delta window is published first: the model sent
    /// it, and clients get it before the error, in order.
    /// </summary>
    private static async ValueTask<bool> NextAsync(IAsyncEnumerator<ChatResponseUpdate> updates, ModelCall call, CancellationToken cancellationToken)
    {
        try
        {
            return await updates.MoveNextAsync();
        }
        catch (Exception ex)
        {
            if (!cancellationToken.IsCancellationRequested)
            {
                // A fault in publishing it propagates instead of the model's: the run cannot go on writing either way.
                await call.FlushAsync();
            }

            if (ex is IOException)
            {
                throw new ModelAnswerException(ModelAnswerException.BrokenOff, ex);
            }

            if (ex is System.Text.Json.JsonException)
            {
                throw new ModelAnswerException(ModelAnswerException.Malformed, ex);
            }

            throw;
        }
    }
}

/// <summary>
/// One model call as it streams: the prompt, where its deltas go (none for a call whose text is not streamed), and what
/// came back so far, which is what a failed call is counted by.
/// </summary>
internal sealed class ModelCall(List<ChatMessage> prompt, DeltaCoalescer? text = null, DeltaCoalescer? reasoning = null)
{
    public List<ChatMessage> Prompt { get; } = prompt;

    public DeltaCoalescer? Text { get; } = text;

    public DeltaCoalescer? Reasoning { get; } = reasoning;

    public StringBuilder Content { get; } = new();

    public StringBuilder Thought { get; } = new();

    public long PromptTokens { get; set; }

    public long CompletionTokens { get; set; }

    public TimeSpan Latency { get; set; }

    /// <summary>Publishes the reasoning and text still waiting in their delta windows.</summary>
    public async ValueTask FlushAsync()
    {
        if (Reasoning is not null)
        {
            await Reasoning.FlushAsync();
        }

        if (Text is not null)
        {
            await Text.FlushAsync();
        }
    }
}

/// <summary>What one model call produced.</summary>
internal sealed record ModelResult(string Text, long PromptTokens, long CompletionTokens, double LatencyMs);
