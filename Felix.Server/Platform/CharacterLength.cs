using FluentValidation;

namespace Felix.Server.Platform;

/// <summary>
/// Length limits in characters (Unicode scalar values), as the original's pydantic and JSON Schema's <c>maxLength</c>
/// count them, not in UTF-16 units: an emoji is one character, not two.
/// </summary>
internal static class CharacterLength
{
    public static IRuleBuilderOptions<T, string?> MaximumCharacters<T>(this IRuleBuilder<T, string?> rule, int max) =>
        rule.Must(text => text is null || text.Length <= max || Count(text) <= max);

    /// <summary>Characters in <paramref name="text"/>; a lone surrogate counts as one.</summary>
    public static int Count(string text)
    {
        var count = 0;
        foreach (var _ in text.EnumerateRunes())
        {
            count++;
        }

        return count;
    }
}
