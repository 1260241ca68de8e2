using System.Globalization;
using System.Text;

namespace Felix.Bench.Load;

/// <summary>One measured run of a paced pair, on the real server or on the bare one replaying its trace.</summary>
internal sealed record PacedResult(
    string Server, string Transport, int Workflows, int Clients, long Expected, long Delivered, double Seconds, double CpuSeconds,
    double P50Ms, double P99Ms, double MaxMs, double EventsPerSecond, bool TimedOut, string LoadAverage)
{
    /// <summary>The server's CPU while idle (after its warm-up, clients connected, nothing published), % of one core.</summary>
    public double IdleCpuPercent { get; init; } = double.NaN;

    /// <summary>The kernel's part of <see cref="CpuSeconds"/> (stime): socket sends, fsync, timers.</summary>
    public double SystemCpuSeconds { get; init; } = double.NaN;

    /// <summary>Felix: CPU from the window's start until the blockers' cancels returned (measured workflows start meanwhile).</summary>
    public double BlockerCpuSeconds { get; init; } = double.NaN;

    /// <summary>The server's JIT compilation time within the window (a process still warming up; should be near 0).</summary>
    public double JitSeconds { get; init; } = double.NaN;

    /// <summary>Bytes the clients received in the window (equal for a pair when the bare server sent the same frames).</summary>
    public long Bytes { get; init; }

    public double CpuMicrosPerDelivery => Delivered > 0 ? CpuSeconds * 1e6 / Delivered : double.NaN;
}

/// <summary>The paced runs as lines while they run, then per transport a Markdown row of medians, ranges and ratios.</summary>
internal static class PacedReport
{
    public static string Line(PacedResult r, int repeat) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Server}/{r.Transport} {r.Workflows}x{r.Clients} #{repeat}: {r.Delivered:N0}/{r.Expected:N0} delivered ({r.Bytes:N0} bytes) in {r.Seconds:F2} s " +
        $"({r.EventsPerSecond:F0} events/s per workflow), server CPU {r.CpuSeconds:F2} s ({r.SystemCpuSeconds / r.CpuSeconds * 100:F0}% system) = {r.CpuMicrosPerDelivery:F2} µs/delivery, " +
        $"p50 {r.P50Ms:F1} ms p99 {r.P99Ms:F1} ms max {r.MaxMs:F1} ms{(r.TimedOut ? ", TIMED OUT" : "")}; idle CPU {r.IdleCpuPercent:F0}% of a core, JIT {r.JitSeconds:F2} s in the window" +
        $"{(double.IsNaN(r.BlockerCpuSeconds) ? "" : $", {r.BlockerCpuSeconds:F2} s of the CPU until the blockers' cancels returned")}; load average {r.LoadAverage}");

    /// <summary>Per transport: each server's median and range, and the ratios of each pair's runs, median and range.</summary>
    public static string Markdown(IReadOnlyList<PacedResult> results)
    {
        var text = new StringBuilder();
        text.AppendLine("| transport | workflows × clients | events/s per workflow | Felix CPU µs/delivery | bare CPU µs/delivery | **bare / Felix CPU per delivery** | Felix p99 ms | bare p99 ms | Felix p99 / bare p99 | Felix p50 ms | bare p50 ms | system CPU Felix / bare | idle CPU % of a core Felix / bare | dropped Felix / bare |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var group in results.GroupBy(r => r.Transport))
        {
            var felix = group.Where(r => r.Server == "felix").ToList();
            var bare = group.Where(r => r.Server == "bare").ToList();
            var pairs = felix.Zip(bare).ToList();
            if (pairs.Count == 0)
            {
                continue;
            }

            var first = felix[0];
            text.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {group.Key} | {first.Workflows} × {first.Clients} | {Spread(felix.Select(r => r.EventsPerSecond), "F0")} | " +
                $"{Spread(felix.Select(r => r.CpuMicrosPerDelivery))} | {Spread(bare.Select(r => r.CpuMicrosPerDelivery))} | " +
                $"**{Spread(pairs.Select(p => p.Second.CpuMicrosPerDelivery / p.First.CpuMicrosPerDelivery))}** | " +
                $"{Spread(felix.Select(r => r.P99Ms), "F1")} | {Spread(bare.Select(r => r.P99Ms), "F1")} | {Spread(pairs.Select(p => p.First.P99Ms / p.Second.P99Ms))} | " +
                $"{Spread(felix.Select(r => r.P50Ms), "F1")} | {Spread(bare.Select(r => r.P50Ms), "F1")} | " +
                $"{Spread(felix.Select(r => r.SystemCpuSeconds / r.CpuSeconds * 100), "F0")}% / {Spread(bare.Select(r => r.SystemCpuSeconds / r.CpuSeconds * 100), "F0")}% | " +
                $"{Spread(felix.Select(r => r.IdleCpuPercent), "F0")} / {Spread(bare.Select(r => r.IdleCpuPercent), "F0")} | " +
                $"{felix.Sum(r => r.Expected - r.Delivered)} / {bare.Sum(r => r.Expected - r.Delivered)} |"));
        }

        return text.ToString();
    }

    /// <summary>The median, with the least and most when there are several: <c>1.23 (1.10–1.40)</c>.</summary>
    private static string Spread(IEnumerable<double> values, string format = "F2")
    {
        var sorted = values.Order().ToList();
        var median = sorted[sorted.Count / 2].ToString(format, CultureInfo.InvariantCulture);
        return sorted.Count == 1 ? median
            : $"{median} ({sorted[0].ToString(format, CultureInfo.InvariantCulture)}–{sorted[^1].ToString(format, CultureInfo.InvariantCulture)})";
    }
}
