using System.Runtime.InteropServices;

namespace Trove.Guest.ImageBuilder.CommandLine;

/// <summary>
/// Ctrl-C (SIGINT) and a plain kill (SIGTERM) cancel the running command's work instead of ending the process at
/// once, so that a build takes its mounts down and an upload deletes its half-made image on the way out.
/// </summary>
internal sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource _cancel;
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;

    public Interruption(CancellationToken outer)
    {
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    public CancellationToken Token => _cancel.Token;

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        _cancel.Cancel();
    }

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _cancel.Dispose();
    }
}
