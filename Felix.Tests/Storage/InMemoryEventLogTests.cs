using Felix.Server.Streaming;
using Microsoft.Extensions.Options;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Storage;

public sealed class InMemoryEventLogTests : EventLogSpec
{
    private protected override Task<IEventLog> CreateEventLogAsync(int maxEventsPerWorkflow = StreamingOptions.DefaultMaxEventsPerWorkflow) =>
        Task.FromResult<IEventLog>(new InMemoryEventLog(Options.Create(new StreamingOptions { MaxEventsPerWorkflow = maxEventsPerWorkflow })));
}
