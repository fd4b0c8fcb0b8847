namespace Trove.Guest.Agent.Engines;

public enum EngineState
{
    Stopped,
    Running,

    /// <summary>The engine went away without being asked to.</summary>
    Crashed,
}

/// <summary>
/// Starts and stops the database server. In a guest VM that is the engine's systemd unit; where there is no systemd
/// (tests, CI) the agent runs the server as its own child process. Managers see only this interface.
/// </summary>
public interface IDatabaseEngine : IAsyncDisposable
{
    Task<EngineState> GetStateAsync(CancellationToken ct);

    Task StartAsync(CancellationToken ct);

    /// <summary>Stops the server and waits until it is gone.</summary>
    Task StopAsync(CancellationToken ct);
}
