using System.Globalization;

namespace Felix.Bench.Soak;

/// <summary>Command line of the soak client; every loop's concurrency can be set so a run can stress one transport.</summary>
internal sealed class SoakOptions
{
    public const string Usage = """
        Churn against one Felix server, then (separately) check the stored histories of the workflows it created.
          Felix.Bench.Soak [--url http://127.0.0.1:19800] [--key k1] [--minutes 22] [--ids soak-ids.txt]
                           [--creators 3] [--raw-sockets 3] [--hubs 3] [--system-hubs 1] [--agui 1]
          Felix.Bench.Soak --check IDS_FILE [--all-stored] [--url ...] [--key ...]
        """;

    public string BaseUrl { get; private set; } = "http://127.0.0.1:19800";

    public string ApiKey { get; private set; } = "k1";

    public double Minutes { get; private set; } = 22;

    /// <summary>Where the churn writes the ids of the workflows it created (REST and AG-UI), one a line.</summary>
    public string IdsFile { get; private set; } = "soak-ids.txt";

    /// <summary>Set: check the histories of the workflows listed in this file instead of churning.</summary>
    public string? CheckFile { get; private set; }

    /// <summary>With <see cref="CheckFile"/>: also check every workflow the server lists (a server of the soak's own).</summary>
    public bool AllStored { get; private set; }

    public int Creators { get; private set; } = 3;

    public int RawSockets { get; private set; } = 3;

    public int Hubs { get; private set; } = 3;

    public int SystemHubs { get; private set; } = 1;

    public int AgUi { get; private set; } = 1;

    public static SoakOptions Parse(string[] args)
    {
        var o = new SoakOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name == "--all-stored")
            {
                o.AllStored = true;
                continue;
            }

            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"{name} needs a value");
            }

            var value = args[++i];
            switch (name)
            {
                case "--url": o.BaseUrl = value.TrimEnd('/'); break;
                case "--key": o.ApiKey = value; break;
                case "--minutes": o.Minutes = double.Parse(value, CultureInfo.InvariantCulture); break;
                case "--ids": o.IdsFile = value; break;
                case "--check": o.CheckFile = value; break;
                case "--creators": o.Creators = Count(name, value); break;
                case "--raw-sockets": o.RawSockets = Count(name, value); break;
                case "--hubs": o.Hubs = Count(name, value); break;
                case "--system-hubs": o.SystemHubs = Count(name, value); break;
                case "--agui": o.AgUi = Count(name, value); break;
                default: throw new ArgumentException($"unknown option {name}");
            }
        }

        return o;
    }

    private static int Count(string name, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new ArgumentException($"{name} wants a count, got '{value}'");
}
