namespace Felix.Server.Agents;

/// <summary>
/// A model's answer that began but could not be read to its end (the connection broke, a chunk was not JSON), that
/// ended without any text, or that ran past the longest one taken. Its message is for the workflow's error; the cause
/// is the inner exception.
/// </summary>
internal sealed class ModelAnswerException(string message, Exception inner) : Exception(message, inner)
{
    public const string BrokenOff = "The language model endpoint broke off its answer.";

    public const string Empty = "The language model answered with no text.";

    public const string Malformed = "The language model endpoint sent an answer that is not valid JSON.";

    public static string TooLong(int max) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"The language model's answer ran past {max} characters (Felix:Llm:MaxAnswerCharacters).");
}
