using Felix.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Felix.Tests.Docs;

/// <summary>
/// Compiles a C# snippet of the docs as the top-level program of a console app (the SDK's implicit usings, nullable on)
/// against the assemblies the tests run with, Felix.Client and Felix.Contracts among them, and runs it as a process.
/// </summary>
internal static class CSharpSnippet
{
    // What a new console project's ImplicitUsings adds, so a snippet needs the usings a reader would write and no more.
    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    // CS1701/CS1702 (assembly version unification) are off in every SDK project too.
    private static readonly string[] IgnoredDiagnostics = ["CS1701", "CS1702"];

    private static readonly Lazy<MetadataReference[]> References = new(() =>
        ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Where(path => !Path.GetFileName(path).StartsWith("xunit", StringComparison.OrdinalIgnoreCase))
            .Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))
            .ToArray());

    /// <summary>Compiles; returns the diagnostics that would fail a build (errors and warnings), empty when it compiles.</summary>
    public static IReadOnlyList<string> Compile(string code, string name, out byte[] assembly)
    {
        var compilation = CSharpCompilation.Create(
            name,
            [
                CSharpSyntaxTree.ParseText(ImplicitUsings, path: "Usings.cs"),
                CSharpSyntaxTree.ParseText(code, path: name + ".cs"),
            ],
            References.Value,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication, nullableContextOptions: NullableContextOptions.Enable));
        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        assembly = stream.ToArray();
        return result.Diagnostics
            .Where(d => d.Severity is DiagnosticSeverity.Error or DiagnosticSeverity.Warning && !IgnoredDiagnostics.Contains(d.Id))
            .Select(d => d.ToString())
            .ToList();
    }

    /// <summary>
    /// Runs a compiled snippet with <c>dotnet exec</c>, next to the test assemblies so that it finds Felix.Client and the
    /// rest through the tests' own deps file.
    /// </summary>
    public static async Task<ChildProcess.Result> RunAsync(byte[] assembly, string name, TimeSpan timeout, params string[] args)
    {
        var directory = AppContext.BaseDirectory;
        var path = Path.Combine(directory, $"DocSnippet.{name}.{Guid.NewGuid():N}.dll");
        await File.WriteAllBytesAsync(path, assembly);
        try
        {
            var start = ChildProcess.StartInfo(
                "dotnet",
                [
                    "exec",
                    "--runtimeconfig", Path.Combine(directory, "Felix.Tests.runtimeconfig.json"),
                    "--depsfile", Path.Combine(directory, "Felix.Tests.deps.json"),
                    path,
                    .. args,
                ],
                directory).WithApiKey(null);
            return await ChildProcess.RunAsync(start, timeout);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
