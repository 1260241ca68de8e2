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
        if (_lastFlush == 0 || time.GetElapsedTime(_lastFlush) >= window)
        {
            if (_pending.Length == 0)
            {
                // At a model's pace every token is a delta of its own: it goes out as the string it came in, not as a
                // copy made through the builder.
                await FlushAsync(text);
                return;
            }

            _pending.Append(text);
            await FlushAsync();
            return;
        }

        _pending.Append(text);
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
        await FlushAsync(text);
    }

    private ValueTask FlushAsync(string text)
    {
        _lastFlush = time.GetTimestamp();
        return flush(text, _index++);
    }
}
