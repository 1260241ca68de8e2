using System.Diagnostics;
using System.IO.Compression;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Packages;

/// <summary>
/// Felix.Contracts and Felix.Client as a .NET 8 application gets them: packed (from a copy of their sources, so the
/// test build's outputs are left alone), restored from a local folder into a net8.0 console app, built, and run against
/// a real server. The app is published self-contained for linux-x64: this machine has only the .NET 10 runtime installed,
/// and a framework-dependent net8.0 app would run rolled forward to it, while the published one carries the .NET 8 runtime
/// (the SDK's runtime pack from the NuGet feed) and runs on it.
/// </summary>
public sealed class PackageConsumerTests
{
    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(5);

    private const string ConsumerProject = """
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <OutputType>Exe</OutputType>
            <TargetFramework>net8.0</TargetFramework>
            <ImplicitUsings>enable</ImplicitUsings>
            <Nullable>enable</Nullable>
            <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
          </PropertyGroup>
          <ItemGroup>
            <PackageReference Include="Felix.Client" Version="$(FelixVersion)" />
          </ItemGroup>
        </Project>
        """;

    private const string ConsumerProgram = """
        using Felix.Client;
        using Felix.Contracts.Events;

        // Running rolled forward on a newer runtime would prove nothing about .NET 8.
        if (Environment.Version.Major != 8)
        {
            Console.Error.WriteLine($"Running on .NET {Environment.Version}, not .NET 8.");
            return 2;
        }

        using var felix = new FelixClient(new FelixClientOptions { BaseAddress = new Uri(args[0]), Protocol = FelixProtocol.MessagePack });
        var workflow = await felix.CreateWorkflowAsync("Explain quantum computing", maxSteps: 2);
        await foreach (var evt in felix.WatchAsync(workflow.WorkflowId))
        {
            if (evt is WorkflowCompleteEvent done)
            {
                Console.WriteLine($"{Environment.Version} {workflow.WorkflowId} {done.Synthesis.AgentsSynthesized}");
            }
        }

        return 0;
        """;

    private const string RepositoryUrl = "https://github.com/felix-server/felix-server";

    [Fact]
    public async Task ANet8AppBuildsAndRunsAgainstThePackedPackages()
    {
        var work = Directory.CreateTempSubdirectory("felix-packages-").FullName;
        try
        {
            // A version of its own, so that no earlier run's package in the NuGet cache stands in for this one.
            var version = $"0.1.0-test.{Guid.NewGuid():N}";
            var sources = Path.Combine(work, "src");
            CopySources(sources);
            var packages = Path.Combine(work, "packages");
            foreach (var project in new[] { "Felix.Contracts", Path.Combine("clients", "dotnet", "Felix.Client") })
            {
                await DotnetAsync(sources, "pack", Path.Combine(sources, project), "-c", "Release", "-o", packages, $"-p:Version={version}");
            }

            Assert.True(File.Exists(Path.Combine(packages, $"Felix.Client.{version}.snupkg")), "no symbols package");
            AssertPackageMetadata(Path.Combine(packages, $"Felix.Contracts.{version}.nupkg"));
            AssertPackageMetadata(Path.Combine(packages, $"Felix.Client.{version}.nupkg"));
            var consumer = Path.Combine(work, "consumer");
            Directory.CreateDirectory(consumer);
            await File.WriteAllTextAsync(Path.Combine(consumer, "Consumer.csproj"), ConsumerProject);
            await File.WriteAllTextAsync(Path.Combine(consumer, "Program.cs"), ConsumerProgram);
            await File.WriteAllTextAsync(Path.Combine(consumer, "nuget.config"), $"""
                <configuration><packageSources><add key="felix-local" value="{packages}" /></packageSources></configuration>
                """);

            var published = Path.Combine(consumer, "out");
            await DotnetAsync(consumer, "publish", "-c", "Release", "-r", "linux-x64", "--self-contained", "-o", published, $"-p:FelixVersion={version}");

            var assets = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(consumer, "obj", "project.assets.json")))!;
            var client = assets["targets"]!["net8.0"]![$"Felix.Client/{version}"]!;
            Assert.Equal(["lib/net8.0/Felix.Client.dll"], client["compile"]!.AsObject().Select(p => p.Key));
            await using var app = new FelixApplication(kestrel: true);
            Assert.True(File.Exists(Path.Combine(published, "libcoreclr.so")), "the published app carries no runtime of its own");
            // The app's own host, which loads the runtime beside it; no muxer, no installed runtime, no roll-forward.
            var run = ChildProcess.StartInfo(Path.Combine(published, "Consumer"), [app.BaseAddress.ToString()], consumer);
            run.Environment.Remove("DOTNET_ROLL_FORWARD");
            var result = await ChildProcess.RunAsync(run, StepTimeout);
            Assert.True(result.ExitCode == 0, result.ToString());
            var printed = result.Stdout.Trim().Split(' ');
            Assert.Equal(3, printed.Length);
            Assert.Equal(8, Version.Parse(printed[0]).Major);
            Assert.StartsWith("wf_", printed[1], StringComparison.Ordinal);
            Assert.Equal("2", printed[2]);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>What a package page shows and a license scanner reads: license expression, readme, repository.</summary>
    private static void AssertPackageMetadata(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        var nuspecEntry = Assert.Single(zip.Entries, e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        XElement metadata;
        using (var stream = nuspecEntry.Open())
        {
            metadata = XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        }

        XElement Element(string name) => Assert.Single(metadata.Elements(), e => e.Name.LocalName == name);
        var license = Element("license");
        Assert.Equal(("expression", "MIT"), ((string?)license.Attribute("type"), license.Value));
        Assert.Equal("README.md", Element("readme").Value);
        Assert.Contains(zip.Entries, e => e.FullName == "README.md");
        Assert.Equal(RepositoryUrl, (string?)Element("repository").Attribute("url"));
        Assert.Equal(RepositoryUrl, Element("projectUrl").Value);
    }

    /// <summary>The two projects and the repository files their build reads, without their build outputs.</summary>
    private static void CopySources(string destination)
    {
        var root = ChildProcess.RepositoryRoot;
        foreach (var file in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json" })
        {
            Directory.CreateDirectory(destination);
            File.Copy(Path.Combine(root, file), Path.Combine(destination, file));
        }

        foreach (var project in new[] { "Felix.Contracts", Path.Combine("clients", "dotnet", "Felix.Client") })
        {
            var from = Path.Combine(root, project);
            foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(from, file);
                if (relative.Split(Path.DirectorySeparatorChar)[0] is "bin" or "obj")
                {
                    continue;
                }

                var target = Path.Combine(destination, project, relative);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }
        }
    }

    private static async Task DotnetAsync(string directory, params string[] args)
    {
        ProcessStartInfo start = ChildProcess.StartInfo("dotnet", [.. args, "--disable-build-servers", "-nodeReuse:false"], directory);
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var result = await ChildProcess.RunAsync(start, StepTimeout);
        Assert.True(result.ExitCode == 0, $"dotnet {string.Join(' ', args)}: {result}");
    }
}
