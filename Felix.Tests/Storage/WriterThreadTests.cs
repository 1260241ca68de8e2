using System.Collections.Concurrent;
using Felix.Server.Storage;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Storage;

/// <summary>The SQLite log's writer: a thread of its own that writes what was queued, in batches, and drains at the end.</summary>
public sealed class WriterThreadTests
{
    [Fact]
    public async Task WhatIsQueuedWhileAWriteRunsGoesOutTogetherInOrderUpToTheBatchSize()
    {
        using var firstWriteStarted = new ManualResetEventSlim();
        using var releaseFirstWrite = new ManualResetEventSlim();
        var batches = new ConcurrentQueue<int[]>();
        var writer = new WriterThread<int>("test writer", maxBatch: 4, batch =>
        {
            batches.Enqueue([.. batch]);
            if (batch[0] == 0)
            {
                firstWriteStarted.Set();
                releaseFirstWrite.Wait();
            }
        });

        Assert.True(writer.TryAdd(0));
        Assert.True(firstWriteStarted.Wait(TimeSpan.FromSeconds(10)));
        for (var i = 1; i <= 6; i++)
        {
            Assert.True(writer.TryAdd(i));
        }

        releaseFirstWrite.Set();
        writer.Complete();
        await writer.Stopped.DefaultTimeout();

        Assert.Equal([[0], [1, 2, 3, 4], [5, 6]], batches.ToArray());
    }

    [Fact]
    public async Task CompleteWritesWhatIsQueuedThenRefusesMore()
    {
        var written = new ConcurrentQueue<int>();
        using var gate = new ManualResetEventSlim();
        var writer = new WriterThread<int>("test writer", maxBatch: 100, batch =>
        {
            gate.Wait();
            foreach (var item in batch)
            {
                written.Enqueue(item);
            }
        });

        for (var i = 0; i < 50; i++)
        {
            writer.TryAdd(i);
        }

        writer.Complete();
        Assert.False(writer.TryAdd(50));
        Assert.False(writer.Stopped.IsCompleted);
        gate.Set();
        await writer.Stopped.DefaultTimeout();
        Assert.Equal(Enumerable.Range(0, 50), written);
    }

    [Fact]
    public async Task AnIdleWriterWakesForTheNextItem()
    {
        var written = new ConcurrentQueue<(int Item, string? Thread)>();
        var writer = new WriterThread<int>("test writer", maxBatch: 8, batch =>
        {
            foreach (var item in batch)
            {
                written.Enqueue((item, Thread.CurrentThread.Name));
            }
        });

        writer.TryAdd(1);
        await WaitUntilAsync(() => written.Count == 1);
        // Asleep now: a later item must still be written.
        await Task.Delay(50);
        writer.TryAdd(2);
        await WaitUntilAsync(() => written.Count == 2);
        writer.Complete();
        await writer.Stopped.DefaultTimeout();

        Assert.Equal([(1, "test writer"), (2, "test writer")], written.ToArray());
    }

    [Fact]
    public void ABatchSizeBelowOneIsRefused()
    {
        // A writer that may take no item would spin on its queue without ever writing it.
        Assert.Throws<ArgumentOutOfRangeException>(() => new WriterThread<int>("test writer", maxBatch: 0, _ => { }));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(5, timeout.Token);
        }
    }
}
