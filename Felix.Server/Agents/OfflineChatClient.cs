using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Felix.Server.Agents;

/// <summary>
/// The built-in model: no network, deterministic for the same prompt and temperature, and streamed token by token at
/// <see cref="LlmOptions.OfflineTokenDelay"/> so a run looks alive. It writes a short reasoning trace, then role-specific
/// text built from the task's own words, and ends with a <c>Confidence:</c> line like the prompts ask of real models.
/// </summary>
internal sealed class OfflineChatClient(IOptions<LlmOptions> options, TimeProvider time) : IChatClient
{
    public const string ModelId = "felix-offline-1";

    private static readonly TimeSpan SlowBeat = TimeSpan.FromMilliseconds(50);

    private readonly TokenPacer? _pacer = options.Value.OfflineTokenDelay > TimeSpan.Zero ? new TokenPacer(options.Value.OfflineTokenDelay, time) : null;

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? chatOptions = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        var (reasoning, text) = OfflineWriter.Write(list, chatOptions?.Temperature ?? 0.7f, chatOptions?.MaxOutputTokens ?? 400);
        var responseId = "offline-" + OfflineWriter.Hash(text).ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
        var outputTokens = 0;

        var reasoningTokens = OfflineWriter.Tokens(reasoning);
        var tokens = reasoningTokens.Concat(OfflineWriter.Tokens(text));
        foreach (var token in tokens)
        {
            // The shared beat's own awaitable at a model's pace: no state machine and no registration per token, which
            // is what the shared beat saves (a slow beat is cancellable, or it would hold up a cancel).
            if (_pacer is not null)
            {
                if (_pacer.Period > SlowBeat)
                {
                    await _pacer.NextBeatAsync(cancellationToken);
                }
                else
                {
                    await _pacer.NextBeat();
                }
            }

            cancellationToken.ThrowIfCancellationRequested();
            yield return outputTokens++ < reasoningTokens.Count
                ? new ChatResponseUpdate(ChatRole.Assistant, [new TextReasoningContent(token)]) { ResponseId = responseId, ModelId = ModelId }
                : new ChatResponseUpdate(ChatRole.Assistant, token) { ResponseId = responseId, ModelId = ModelId };
        }

        var inputTokens = OfflineWriter.Count(list);
        yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(new UsageDetails
        {
            InputTokenCount = inputTokens,
            OutputTokenCount = outputTokens,
            TotalTokenCount = inputTokens + outputTokens,
        })])
        { ResponseId = responseId, ModelId = ModelId, FinishReason = ChatFinishReason.Stop };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this
        : serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("felix-offline", null, ModelId)
        : null;

    public void Dispose() => _pacer?.Dispose();
}
