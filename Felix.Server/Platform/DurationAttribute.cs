using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace Felix.Server.Platform;

/// <summary>
/// A duration setting's range, checked at start like any other setting (<see cref="SettingsValidation"/>): from
/// <paramref name="minimum"/> to <see cref="Maximum"/>, and, where <see cref="InfiniteAllowed"/>, <c>-00:00:00.001</c> for
/// none. The default maximum is the longest a .NET timer or delay waits (about 49.7 days): a setting past it, or a
/// negative one, passed the start and then threw from the first timer, delay or wait built from it, as a 500 in a request
/// or as a background service's stack that stopped the host.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class DurationAttribute(string minimum) : ValidationAttribute
{
    /// <summary>The longest wait a timer takes (<c>uint.MaxValue - 1</c> milliseconds), in whole days so it reads well.</summary>
    public const string LongestTimer = "49.00:00:00";

    private readonly TimeSpan _minimum = TimeSpan.Parse(minimum, CultureInfo.InvariantCulture);

    /// <summary>A <see cref="TimeSpan"/> in invariant <c>[d.]hh:mm:ss[.fff]</c> form; <see cref="LongestTimer"/> unless given.</summary>
    public string Maximum { get; init; } = LongestTimer;

    /// <summary><c>-00:00:00.001</c> (<see cref="Timeout.InfiniteTimeSpan"/>) means "no limit" for this setting.</summary>
    public bool InfiniteAllowed { get; init; }

    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        if (value is not TimeSpan duration)
        {
            return ValidationResult.Success;
        }

        var maximum = TimeSpan.Parse(Maximum, CultureInfo.InvariantCulture);
        if (duration >= _minimum && duration <= maximum || InfiniteAllowed && duration == Timeout.InfiniteTimeSpan)
        {
            return ValidationResult.Success;
        }

        var none = InfiniteAllowed ? ", or -00:00:00.001 for none" : "";
        return new ValidationResult(
            $"must be from {minimum} to {Maximum}{none}, not {duration.ToString("c", CultureInfo.InvariantCulture)}.",
            validationContext.MemberName is { } member ? [member] : null);
    }
}
