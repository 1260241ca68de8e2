namespace Felix.Server.Platform;

/// <summary>
/// A reason the server must not start (settings, credentials, data directory). Its message is the one line the operator
/// reads, so it names the setting or file and what to do; <see cref="FelixStartup"/> logs it without a stack.
/// </summary>
internal sealed class StartupException(string message, Exception? innerException = null) : Exception(message, innerException);
