using Felix.Server.Workflows;
using Felix.Tests.Infrastructure;

namespace Felix.Tests.Storage;

public sealed class InMemoryWorkflowStoreTests : WorkflowStoreSpec
{
    private protected override Task<IWorkflowStore> CreateStoreAsync() => Task.FromResult<IWorkflowStore>(new InMemoryWorkflowStore());
}
