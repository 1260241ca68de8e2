using System.Globalization;
using System.Text;

namespace Felix.Server.Scaleout;

/// <summary>
/// A workflow event as the append script publishes it to every node: lines of sender node id, workflow id, sequence and
/// epoch, then the stored body (MessagePack, without its position). A node reads the header first and skips the events of
/// workflows it has no listener for without decoding them.
/// </summary>
internal readonly record struct NodeFeedMessage(string Sender, string WorkflowId, long Sequence, string Epoch, ReadOnlyMemory<byte> Body)
{
    /// <summary>What the script puts before the sequence.</summary>
    public static string Header(string nodeId, string workflowId) => $"{nodeId}\n{workflowId}\n";

    /// <summary>The message for an event appended without the script (the script builds the same one itself).</summary>
    public static byte[] Encode(string nodeId, string workflowId, long sequence, string epoch, ReadOnlySpan<byte> body)
    {
        var header = Header(nodeId, workflowId) + sequence.ToString(CultureInfo.InvariantCulture) + "\n" + epoch + "\n";
        var message = new byte[Encoding.UTF8.GetByteCount(header) + body.Length];
        body.CopyTo(message.AsSpan(Encoding.UTF8.GetBytes(header, message)));
        return message;
    }

    public static NodeFeedMessage Decode(byte[] message)
    {
        var span = message.AsSpan();
        var offset = 0;
        var sender = NextLine(span, ref offset);
        var workflowId = NextLine(span, ref offset);
        var sequence = long.Parse(NextLine(span, ref offset), CultureInfo.InvariantCulture);
        var epoch = NextLine(span, ref offset);
        return new NodeFeedMessage(sender, workflowId, sequence, epoch, message.AsMemory(offset));
    }

    private static string NextLine(ReadOnlySpan<byte> message, ref int offset)
    {
        var length = message[offset..].IndexOf((byte)'\n');
        if (length < 0)
        {
            throw new FormatException("A node feed message ended inside its header.");
        }

        var line = Encoding.UTF8.GetString(message.Slice(offset, length));
        offset += length + 1;
        return line;
    }
}
