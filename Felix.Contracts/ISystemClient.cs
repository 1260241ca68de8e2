using Felix.Contracts.Events;

namespace Felix.Contracts;

/// <summary>The methods the system hub calls on its clients.</summary>
public interface ISystemClient
{
    /// <summary>A system-wide event: a workflow was created or changed status, or the system changed.</summary>
    Task SystemEvent(SystemEvent evt);
}
