using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Felix.Tests.Infrastructure;

internal static class RawSocketExtensions
{
    /// <summary>Reads one text message; null when the server closed.</summary>
    public static async Task<string?> ReceiveTextAsync(this WebSocket socket, TimeSpan? timeout = null)
    {
        var buffer = new byte[64 * 1024];
        using var stream = new MemoryStream();
        using var cts = new CancellationTokenSource(timeout ?? TestTimeouts.Default);
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cts.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            stream.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return Encoding.UTF8.GetString(stream.ToArray());
            }
        }
    }

    public static async Task<JsonObject?> ReceiveJsonAsync(this WebSocket socket, TimeSpan? timeout = null)
    {
        var text = await socket.ReceiveTextAsync(timeout);
        return text is null ? null : JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>Reads JSON frames until the server closes; answers the server's JSON pings with the text <c>pong</c>.</summary>
    public static async Task<List<JsonObject>> ReadToCloseAsync(this WebSocket socket, TimeSpan? timeout = null)
    {
        var frames = new List<JsonObject>();
        while (await socket.ReceiveJsonAsync(timeout) is { } frame)
        {
            frames.Add(frame);
        }

        return frames;
    }

    public static Task SendTextAsync(this WebSocket socket, string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None).DefaultTimeout();

    public static string Type(this JsonObject frame) => frame["type"]!.GetValue<string>();

    public static string[] Types(this IEnumerable<JsonObject> frames) => frames.Select(f => f.Type()).ToArray();
}
