using Felix.Server.Agents;
using Microsoft.Extensions.Time.Testing;

namespace Felix.Tests.Agents;

/// <summary>
/// Streamed text to deltas: text within the window of the last delta joins the next one, text after it goes out at
/// once, and every delta carries the next index; nothing added is lost or sent twice.
/// </summary>
public sealed class DeltaCoalescerTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(5);

    [Fact]
    public async Task TokensAtAModelsPaceAreDeltasOfTheirOwn()
    {
        var time = new FakeTimeProvider();
        var (coalescer, deltas) = Create(time);

        foreach (var token in (string[])["Tea ", "and ", "coffee"])
        {
            await coalescer.AddAsync(token);
            time.Advance(Window);
        }

        await coalescer.FlushAsync();
        Assert.Equal([("Tea ", 0), ("and ", 1), ("coffee", 2)], deltas);
    }

    [Fact]
    public async Task TokensWithinTheWindowJoinTheNextDeltaAndTheFlushSendsTheRest()
    {
        var time = new FakeTimeProvider();
        var (coalescer, deltas) = Create(time);

        await coalescer.AddAsync("Tea ");
        await coalescer.AddAsync("and ");
        time.Advance(Window - TimeSpan.FromTicks(1));
        await coalescer.AddAsync("coffee ");
        Assert.Equal([("Tea ", 0)], deltas);

        time.Advance(TimeSpan.FromTicks(1));
        await coalescer.AddAsync("at night");
        Assert.Equal([("Tea ", 0), ("and coffee at night", 1)], deltas);

        await coalescer.AddAsync(", late");
        await coalescer.FlushAsync();
        await coalescer.FlushAsync();
        Assert.Equal([("Tea ", 0), ("and coffee at night", 1), (", late", 2)], deltas);
    }

    private static (DeltaCoalescer Coalescer, List<(string Delta, int Index)> Deltas) Create(TimeProvider time)
    {
        var deltas = new List<(string, int)>();
        var coalescer = new DeltaCoalescer((delta, index) =>
        {
            deltas.Add((delta, index));
            return ValueTask.CompletedTask;
        }, time, Window);
        return (coalescer, deltas);
    }
}
