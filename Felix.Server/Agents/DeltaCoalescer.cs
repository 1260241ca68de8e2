using System.Runtime.CompilerServices;
using System.Text;

namespace Felix.Server.Agents;

/// <summary>
/// Joins streamed text that arrives within <c>window</c> of the last flush into one delta, so a fast model does not
/// turn every token into an event, while a model at a local pace still streams token by token.
/// </summary>
internal sealed class DeltaCoalescer(Func<string, int, ValueTask> flush, TimeProvider time, TimeSpan window)
{
    private readonly StringBuilder _pending = new();
    private long _lastFlush;
    private int _index;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask AddAsync(string text)
    {
        _pending.Append(text);
        if (_lastFlush == 0 || time.GetElapsedTime(_lastFlush) >= window)
        {
            await FlushAsync();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask FlushAsync()
    {
        if (_pending.Length == 0)
        {
            return;
        }

        var text = _pending.ToString();
        _pending.Clear();
        _lastFlush = time.GetTimestamp();
        await flush(text, _index++);
    }
}
