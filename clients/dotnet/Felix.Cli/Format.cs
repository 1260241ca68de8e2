using System.Globalization;

namespace Felix.Cli;

internal static class Format
{
    public static string Percent(double fraction) => (fraction * 100).ToString("0", CultureInfo.InvariantCulture) + "%";

    /// <summary>Whole seconds, rounded up: a wait is never shown shorter than it is.</summary>
    public static string Seconds(TimeSpan wait) => Math.Ceiling(wait.TotalSeconds).ToString("0", CultureInfo.InvariantCulture);

    public static string Number(double value, string format = "0.00") => value.ToString(format, CultureInfo.InvariantCulture);
}
