using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.Json;

namespace Felix.Bench.Load;

/// <summary>Where the storm is. Attempts and refusals are counted per phase, so the drain's share shows apart from the storm's.</summary>
internal enum StormPhase
{
    Connect,
    Drain,
    Down,
    Storm,
    Abuse,
    Done,
}

/// <summary>What the whole crowd shares: the clock, the phase, the counters, where and how to connect.</summary>
internal sealed class StormRun(Uri server, string apiKey, TimeSpan backoffBase, TimeSpan backoffCap)
{
    private const int Phases = (int)StormPhase.Done + 1;

    /// <summary>A <c>Retry-After</c> at least this long cannot fit in the storm's target.</summary>
    public static readonly TimeSpan LongRetryAfter = TimeSpan.FromSeconds(30);

    private readonly long[] _attempts = new long[Phases];
    private readonly long[] _accepted = new long[Phases];
    private readonly long[] _refused = new long[Phases];
    private readonly long[] _longRefusals = new long[Phases];
    private readonly long[] _failed = new long[Phases];
    private readonly long[] _unavailable = new long[Phases];
    private readonly long[] _maxRetryAfterSeconds = new long[Phases];
    private volatile int _phase;
    private volatile bool _oldServerGone;

    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    public StormPhase Phase
    {
        get => (StormPhase)_phase;
        set => _phase = (int)value;
    }

    /// <summary>Set once the first process has exited: a <c>connected</c> frame after it comes from the new one.</summary>
    public bool OldServerGone
    {
        get => _oldServerGone;
        set => _oldServerGone = value;
    }

    public Uri Server => server;

    public string ApiKey => apiKey;

    public TimeSpan Now => Clock.Elapsed;

    /// <summary>Full jitter: a random wait up to the exponential step (<paramref name="failures"/> in a row), capped.</summary>
    public TimeSpan Backoff(int failures) =>
        TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * Math.Min(backoffCap.Ticks, backoffBase.Ticks * Math.Pow(2, Math.Min(failures, 30)))));

    public void Attempted(StormPhase phase) => Interlocked.Increment(ref _attempts[(int)phase]);

    public void Accepted(StormPhase phase) => Interlocked.Increment(ref _accepted[(int)phase]);

    public void Failed(StormPhase phase) => Interlocked.Increment(ref _failed[(int)phase]);

    /// <summary>A 503 (a node shutting down); its <c>Retry-After</c> is honoured like a 429's.</summary>
    public void Unavailable(StormPhase phase) => Interlocked.Increment(ref _unavailable[(int)phase]);

    public void Refused(StormPhase phase, TimeSpan retryAfter)
    {
        Interlocked.Increment(ref _refused[(int)phase]);
        if (retryAfter >= LongRetryAfter)
        {
            Interlocked.Increment(ref _longRefusals[(int)phase]);
        }

        var seconds = (long)retryAfter.TotalSeconds;
        long seen;
        while (seconds > (seen = Interlocked.Read(ref _maxRetryAfterSeconds[(int)phase]))
            && Interlocked.CompareExchange(ref _maxRetryAfterSeconds[(int)phase], seconds, seen) != seen)
        {
        }
    }

    public string Counts(StormPhase phase) => string.Create(CultureInfo.InvariantCulture,
        $"{Interlocked.Read(ref _attempts[(int)phase]):N0} attempts, {Interlocked.Read(ref _accepted[(int)phase]):N0} upgraded, " +
        $"{Interlocked.Read(ref _refused[(int)phase]):N0} answered 429 ({Interlocked.Read(ref _longRefusals[(int)phase]):N0} with Retry-After >= {LongRetryAfter.TotalSeconds:F0} s, " +
        $"longest {Interlocked.Read(ref _maxRetryAfterSeconds[(int)phase])} s), {Interlocked.Read(ref _unavailable[(int)phase]):N0} answered 503, " +
        $"{Interlocked.Read(ref _failed[(int)phase]):N0} failed (refused, reset, other status)");

    public long AttemptsIn(StormPhase phase) => Interlocked.Read(ref _attempts[(int)phase]);

    public long RefusalsIn(StormPhase phase) => Interlocked.Read(ref _refused[(int)phase]);

    public long LongRefusalsIn(StormPhase phase) => Interlocked.Read(ref _longRefusals[(int)phase]);

    public long MaxRetryAfterSecondsIn(StormPhase phase) => Interlocked.Read(ref _maxRetryAfterSeconds[(int)phase]);
}

/// <summary>One loopback source address and the HTTP handler whose connections leave from it.</summary>
internal sealed class StormSource : IDisposable
{
    public StormSource(IPAddress address)
    {
        Address = address;
        Invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(address, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        });
    }

    public IPAddress Address { get; }

    public HttpMessageInvoker Invoker { get; }

    /// <summary>A raw WebSocket that keeps the refusal's status and headers (the 429's <c>Retry-After</c>).</summary>
    public static ClientWebSocket NewSocket()
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        // The server's JSON ping is answered by the client itself; no unsolicited pongs from 5,000 sockets.
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        return socket;
    }

    public static TimeSpan RetryAfter(ClientWebSocket socket)
    {
        var header = socket.HttpResponseHeaders?.FirstOrDefault(h => h.Key.Equals("Retry-After", StringComparison.OrdinalIgnoreCase)).Value?.FirstOrDefault();
        return int.TryParse(header, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds) ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromSeconds(1);
    }

    public void Dispose() => Invoker.Dispose();
}

/// <summary>An event as a client received it: its position and type (the epoch is the client's, checked on arrival).</summary>
internal readonly record struct StormEvent(long Sequence, string Type);

/// <summary>The fields of a raw frame the storm needs, read from its top level.</summary>
internal readonly record struct StormFrame(string? Type, long Sequence, string? EventId, string? Epoch, long LastSequence, bool ReplayedFromStart)
{
    private static readonly ConcurrentDictionary<string, string> Types = new(StringComparer.Ordinal);

    /// <summary>Events carry a sequence; the connect snapshot, <c>connected</c> and <c>ping</c> do not.</summary>
    public bool IsEvent => Sequence > 0;

    public static StormFrame Parse(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        string? type = null, eventId = null, epoch = null;
        long sequence = 0, lastSequence = -1;
        var replayed = false;
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                // One string per type for the whole crowd: the clients keep every event's type.
                var read = reader.GetString()!;
                type = Types.GetOrAdd(read, read);
            }
            else if (reader.ValueTextEquals("sequence"u8))
            {
                reader.Read();
                sequence = reader.GetInt64();
            }
            else if (reader.ValueTextEquals("event_id"u8))
            {
                reader.Read();
                eventId = reader.GetString();
            }
            else if (reader.ValueTextEquals("epoch"u8))
            {
                reader.Read();
                epoch = reader.GetString();
            }
            else if (reader.ValueTextEquals("last_sequence"u8))
            {
                reader.Read();
                lastSequence = reader.GetInt64();
            }
            else if (reader.ValueTextEquals("replayed_from_start"u8))
            {
                reader.Read();
                replayed = reader.GetBoolean();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return new StormFrame(type, sequence, eventId, epoch, lastSequence, replayed);
    }
}

/// <summary>
/// One client of the crowd on the raw WebSocket endpoint (<c>types=all</c>, so every stored event reaches it and its
/// list can be held against the history). It does what the docs tell a client to do: after a drop it reconnects with
/// <c>last_event_id</c> after its own backoff (exponential with full jitter, reset by a <c>connected</c> frame), and on
/// a 429 (or a 503 with one) it waits the <c>Retry-After</c> it was given. It keeps every event it receives, duplicates included.
/// </summary>
internal sealed class StormClient(string workflowId, StormSource source, StormRun run)
{
    private enum Outcome
    {
        Failed,
        Refused,
        Lost,
        Finished,
        Fatal,
    }

    private static readonly byte[] Pong = "pong"u8.ToArray();

    private readonly List<StormEvent> _events = [];
    private readonly TaskCompletionSource _firstConnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _lastEventId;
    private long _lastSequence;
    private long _resumeTarget = -1;
    private long _backTicks = -1;
    private long _resumedTicks = -1;
    private int _dropsAfterBack;
    private volatile bool _connected;

    public string WorkflowId => workflowId;

    /// <summary>What it received, in order; read once the client has stopped.</summary>
    public IReadOnlyList<StormEvent> Events => _events;

    public string? Epoch { get; private set; }

    public Task FirstConnected => _firstConnected.Task;

    public bool Connected => _connected;

    /// <summary>When its first <c>connected</c> frame from the new process arrived.</summary>
    public TimeSpan? BackAt => Ticks(ref _backTicks);

    /// <summary>When, back on the new process, it had every event up to the position the server's snapshot named.</summary>
    public TimeSpan? ResumedAt => Ticks(ref _resumedTicks);

    public long LastSequence => Volatile.Read(ref _lastSequence);

    /// <summary>Connections lost (not by the bench) after it was back, while the storm and the abuse ran.</summary>
    public int DropsAfterBack => Volatile.Read(ref _dropsAfterBack);

    public int BadEventIds { get; private set; }

    public int ReplayedFromStart { get; private set; }

    /// <summary>Its workflow ended (1000 after the terminal event): it has nothing to come back for.</summary>
    public bool Finished { get; private set; }

    /// <summary>The server refused it for good (1008): the bench is wrong, not the storm.</summary>
    public string? Fatal { get; private set; }

    public async Task RunAsync(CancellationToken stop)
    {
        var failures = 0;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var (outcome, retryAfter) = await AttemptAsync(stop);
                TimeSpan wait;
                switch (outcome)
                {
                    case Outcome.Finished or Outcome.Fatal:
                        return;
                    case Outcome.Lost:
                        failures = 0;
                        wait = run.Backoff(0);
                        break;
                    case Outcome.Refused:
                        // What the docs ask: the server already spreads the crowd by jittering Retry-After.
                        failures++;
                        wait = retryAfter;
                        break;
                    default:
                        failures++;
                        wait = run.Backoff(failures);
                        break;
                }

                await Task.Delay(wait, stop);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or HttpRequestException && stop.IsCancellationRequested)
        {
        }
        finally
        {
            _connected = false;
            _firstConnected.TrySetException(new InvalidOperationException(Fatal ?? "Stopped before its first connection."));
        }
    }

    private Uri StreamUri()
    {
        var query = $"api_key={Uri.EscapeDataString(run.ApiKey)}&types=all";
        if (_lastEventId is not null)
        {
            query += "&last_event_id=" + Uri.EscapeDataString(_lastEventId);
        }

        return new UriBuilder(run.Server) { Scheme = "ws", Path = $"/api/v1/ws/workflows/{workflowId}", Query = query }.Uri;
    }

    private async Task<(Outcome, TimeSpan)> AttemptAsync(CancellationToken stop)
    {
        var phase = run.Phase;
        run.Attempted(phase);
        using var socket = StormSource.NewSocket();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            await socket.ConnectAsync(StreamUri(), source.Invoker, timeout.Token);
        }
        catch (WebSocketException) when (socket.HttpStatusCode == HttpStatusCode.TooManyRequests)
        {
            var retryAfter = StormSource.RetryAfter(socket);
            run.Refused(phase, retryAfter);
            return (Outcome.Refused, retryAfter);
        }
        catch (WebSocketException) when (socket.HttpStatusCode == HttpStatusCode.ServiceUnavailable && socket.HttpResponseHeaders?.Keys.Any(k => k.Equals("Retry-After", StringComparison.OrdinalIgnoreCase)) == true)
        {
            run.Unavailable(phase);
            return (Outcome.Refused, StormSource.RetryAfter(socket));
        }
        catch (Exception ex) when (ex is WebSocketException or HttpRequestException or OperationCanceledException && !stop.IsCancellationRequested)
        {
            run.Failed(phase);
            return (Outcome.Failed, TimeSpan.Zero);
        }

        run.Accepted(phase);
        return (await ReadAsync(socket, stop), TimeSpan.Zero);
    }

    private async Task<Outcome> ReadAsync(ClientWebSocket socket, CancellationToken stop)
    {
        var connected = false;
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, length).CopyTo(larger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = larger;
                    }

                    result = await socket.ReceiveAsync(buffer.AsMemory(length), stop);
                    length += result.Count;
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                if (OnFrame(buffer.AsSpan(0, length), ref connected))
                {
                    await socket.SendAsync(Pong.AsMemory(), WebSocketMessageType.Text, true, stop);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException && !stop.IsCancellationRequested)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            _connected = false;
        }

        if (socket.State == WebSocketState.CloseReceived)
        {
            // Answer the close, as a client should: the draining server waits up to 5 s for it.
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "", timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
            }
        }

        if (socket.CloseStatus == WebSocketCloseStatus.PolicyViolation)
        {
            Fatal = $"1008 {socket.CloseStatusDescription}";
            return Outcome.Fatal;
        }

        if (socket.CloseStatus == WebSocketCloseStatus.NormalClosure)
        {
            Finished = true;
            return Outcome.Finished;
        }

        if (!connected)
        {
            // Upgraded but closed before its first frame (a server that is draining answers 1001 at once): a failed attempt.
            return Outcome.Failed;
        }

        if (BackAt is not null && run.Phase is StormPhase.Storm or StormPhase.Abuse)
        {
            Interlocked.Increment(ref _dropsAfterBack);
        }

        return Outcome.Lost;
    }

    /// <summary>Records the frame; true when it is the server's JSON ping, to be answered with <c>pong</c>.</summary>
    private bool OnFrame(ReadOnlySpan<byte> frame, ref bool connected)
    {
        if (frame.SequenceEqual("pong"u8))
        {
            return false;
        }

        var parsed = StormFrame.Parse(frame);
        if (parsed.IsEvent)
        {
            Epoch ??= parsed.Epoch;
            if (parsed.Epoch != Epoch || parsed.EventId != $"{parsed.Epoch}-{parsed.Sequence}")
            {
                BadEventIds++;
            }

            _events.Add(new StormEvent(parsed.Sequence, parsed.Type ?? ""));
            _lastEventId = parsed.EventId;
            Volatile.Write(ref _lastSequence, parsed.Sequence);
        }
        else if (parsed.Type == "connected")
        {
            connected = true;
            _connected = true;
            _firstConnected.TrySetResult();
            if (run.OldServerGone && _backTicks < 0)
            {
                Volatile.Write(ref _backTicks, run.Now.Ticks);
            }
        }
        else if (parsed.Type == "ping")
        {
            return true;
        }
        else if (parsed.LastSequence >= 0)
        {
            // The connect snapshot: the stream's position when this subscription began.
            ReplayedFromStart += parsed.ReplayedFromStart ? 1 : 0;
            if (_backTicks >= 0 && _resumedTicks < 0)
            {
                _resumeTarget = parsed.LastSequence;
            }
        }

        if (_resumeTarget >= 0 && _resumedTicks < 0 && _lastSequence >= _resumeTarget)
        {
            Volatile.Write(ref _resumedTicks, run.Now.Ticks);
        }

        return false;
    }

    private static TimeSpan? Ticks(ref long ticks)
    {
        var value = Volatile.Read(ref ticks);
        return value < 0 ? null : TimeSpan.FromTicks(value);
    }
}
