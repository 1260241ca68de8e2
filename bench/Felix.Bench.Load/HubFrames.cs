using System.Buffers;
using System.Text;
using System.Text.Json;
using Felix.Contracts;
using MessagePack;

namespace Felix.Bench.Load;

/// <summary>What the lean SignalR client needs to know about one hub message.</summary>
internal enum HubMessageKind
{
    /// <summary>Anything the bench does not act on (other invocations, stream items, acks).</summary>
    Other,

    /// <summary>An <c>AgentOutputDelta</c> invocation: a bench event.</summary>
    Event,

    /// <summary>The completion of the client's own invocation (Subscribe), with a result or none.</summary>
    Completion,

    /// <summary>The completion of the client's own invocation, with an error.</summary>
    CompletionError,

    /// <summary>A keep-alive ping.</summary>
    Ping,

    /// <summary>The server closes the connection.</summary>
    Close,
}

/// <summary>
/// The few pieces of the SignalR hub protocol (JSON and MessagePack, version 1) the lean bench client speaks: the
/// handshake, one invocation, pings, and reading the messages the server sends straight from the receive buffer, without
/// deserialising the event (only its <c>timestamp</c> is read, as the raw client does).
/// </summary>
/// <remarks>JSON messages end with the record separator 0x1E; MessagePack messages are prefixed with their length as a VarInt.</remarks>
internal static class HubFrames
{
    public const byte RecordSeparator = 0x1E;

    private static readonly byte[] DeltaTarget = Encoding.UTF8.GetBytes(nameof(IWorkflowClient.AgentOutputDelta));
    private static readonly byte[] CompleteTarget = Encoding.UTF8.GetBytes(nameof(IWorkflowClient.WorkflowComplete));
    private static readonly byte[] ErrorTarget = Encoding.UTF8.GetBytes(nameof(IWorkflowClient.WorkflowError));

    /// <summary><c>{"type":6}</c> and its separator.</summary>
    public static readonly byte[] JsonPing = "{\"type\":6}\u001e"u8.ToArray();

    /// <summary><c>[6]</c> with its length prefix.</summary>
    public static readonly byte[] MessagePackPing = [0x02, 0x91, 0x06];

    /// <summary>The handshake request (always JSON text, whatever the protocol), with its separator.</summary>
    public static byte[] Handshake(string protocol) => Encoding.UTF8.GetBytes($"{{\"protocol\":\"{protocol}\",\"version\":1}}\u001e");

    /// <summary>An invocation of <paramref name="target"/> with string or null arguments, expecting a completion.</summary>
    public static byte[] JsonInvocation(string invocationId, string target, params string?[] arguments)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("type"u8, 1);
            writer.WriteString("invocationId"u8, invocationId);
            writer.WriteString("target"u8, target);
            writer.WriteStartArray("arguments"u8);
            foreach (var argument in arguments)
            {
                if (argument is null)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    writer.WriteStringValue(argument);
                }
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        buffer.Write([RecordSeparator]);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The same invocation in MessagePack, <c>[1, {}, id, target, [args]]</c>, length-prefixed.</summary>
    public static byte[] MessagePackInvocation(string invocationId, string target, params string?[] arguments)
    {
        var body = new ArrayBufferWriter<byte>(256);
        var writer = new MessagePackWriter(body);
        writer.WriteArrayHeader(5);
        writer.Write(1);
        writer.WriteMapHeader(0);
        writer.Write(invocationId);
        writer.Write(target);
        writer.WriteArrayHeader(arguments.Length);
        foreach (var argument in arguments)
        {
            if (argument is null)
            {
                writer.WriteNil();
            }
            else
            {
                writer.Write(argument);
            }
        }

        writer.Flush();
        Span<byte> prefix = stackalloc byte[5];
        var prefixLength = WriteLengthPrefix(prefix, body.WrittenCount);
        return [.. prefix[..prefixLength], .. body.WrittenSpan];
    }

    /// <summary>Writes <paramref name="length"/> as a VarInt (7 bits a byte, low bits first); returns the bytes written.</summary>
    public static int WriteLengthPrefix(Span<byte> destination, int length)
    {
        var value = (uint)length;
        var i = 0;
        do
        {
            var b = (byte)(value & 0x7F);
            value >>= 7;
            destination[i++] = value > 0 ? (byte)(b | 0x80) : b;
        }
        while (value > 0);

        return i;
    }

    /// <summary>
    /// Reads the VarInt length prefix of a MessagePack message at the start of <paramref name="buffer"/>. True when the
    /// prefix and the whole message are in the buffer.
    /// </summary>
    /// <exception cref="InvalidDataException">The prefix is longer than 5 bytes or exceeds 2 GiB.</exception>
    public static bool TryReadLengthPrefixed(ReadOnlySpan<byte> buffer, out int prefixLength, out int messageLength)
    {
        prefixLength = 0;
        messageLength = 0;
        uint value = 0;
        for (var i = 0; i < 5; i++)
        {
            if (i >= buffer.Length)
            {
                return false;
            }

            var b = buffer[i];
            value |= (uint)(b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                if (value > int.MaxValue)
                {
                    throw new InvalidDataException("Message length exceeds 2 GiB.");
                }

                prefixLength = i + 1;
                messageLength = (int)value;
                return buffer.Length - prefixLength >= messageLength;
            }
        }

        throw new InvalidDataException("Length prefix longer than 5 bytes.");
    }

    /// <summary>Reads a JSON hub message (without its separator); for an event, <paramref name="ticks"/> is its publish time.</summary>
    public static HubMessageKind ParseJson(ReadOnlySpan<byte> record, out long ticks)
    {
        ticks = -1;
        var reader = new Utf8JsonReader(record);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return HubMessageKind.Other;
        }

        var type = 0;
        var delta = false;
        var error = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                type = reader.GetInt32();
            }
            else if (reader.ValueTextEquals("target"u8))
            {
                reader.Read();
                delta = reader.ValueTextEquals(DeltaTarget);
            }
            else if (type == 1 && delta && reader.ValueTextEquals("arguments"u8))
            {
                // SignalR writes type and target before the arguments: the event is the rest of the record.
                ticks = WireTimestamp.FindInJson(record[(int)reader.BytesConsumed..]);
                return HubMessageKind.Event;
            }
            else
            {
                error |= reader.ValueTextEquals("error"u8);
                reader.Read();
                reader.Skip();
            }
        }

        return Kind(type, error);
    }

    /// <summary>Reads a MessagePack hub message (without its prefix); for an event, <paramref name="ticks"/> is its publish time.</summary>
    public static HubMessageKind ParseMessagePack(ReadOnlyMemory<byte> message, out long ticks) =>
        ParseMessagePack(message, anyEvent: false, out _, out ticks);

    /// <summary>
    /// Reads a MessagePack hub message (without its prefix) where every invocation is a workflow event (the paced runs
    /// count them all); <paramref name="terminal"/> is set for the events that end a workflow.
    /// </summary>
    public static HubMessageKind ParseMessagePackEvent(ReadOnlyMemory<byte> message, out bool terminal, out long ticks) =>
        ParseMessagePack(message, anyEvent: true, out terminal, out ticks);

    private static HubMessageKind ParseMessagePack(ReadOnlyMemory<byte> message, bool anyEvent, out bool terminal, out long ticks)
    {
        ticks = -1;
        terminal = false;
        var reader = new MessagePackReader(message);
        var count = reader.ReadArrayHeader();
        if (count < 1)
        {
            return HubMessageKind.Other;
        }

        var type = reader.ReadInt32();
        if (type == 1 && count >= 5)
        {
            // [1, headers, invocationId, target, arguments, streamIds?]
            reader.Skip();
            reader.Skip();
            var target = String(ref reader);
            terminal = target.SequenceEqual(CompleteTarget) || target.SequenceEqual(ErrorTarget);
            if (!(anyEvent || target.SequenceEqual(DeltaTarget)) || reader.ReadArrayHeader() < 1)
            {
                return HubMessageKind.Other;
            }

            var fields = reader.ReadMapHeader();
            for (var i = 0; i < fields; i++)
            {
                if (String(ref reader).SequenceEqual("timestamp"u8))
                {
                    ticks = WireTimestamp.ParseTicks(String(ref reader));
                    break;
                }

                reader.Skip();
            }

            return HubMessageKind.Event;
        }

        if (type == 3 && count >= 4)
        {
            // [3, headers, invocationId, resultKind (1 error, 2 void, 3 result), result?]
            reader.Skip();
            reader.Skip();
            return reader.ReadInt32() == 1 ? HubMessageKind.CompletionError : HubMessageKind.Completion;
        }

        return Kind(type, error: false);
    }

    private static HubMessageKind Kind(int type, bool error) => type switch
    {
        3 => error ? HubMessageKind.CompletionError : HubMessageKind.Completion,
        6 => HubMessageKind.Ping,
        7 => HubMessageKind.Close,
        _ => HubMessageKind.Other,
    };

    /// <summary>A string's UTF-8 bytes, in place (a single-segment buffer is always contiguous); empty for nil.</summary>
    private static ReadOnlySpan<byte> String(ref MessagePackReader reader)
    {
        if (reader.TryReadNil())
        {
            return default;
        }

        return reader.TryReadStringSpan(out var span) ? span : throw new InvalidDataException("Non-contiguous string.");
    }
}
