// The agent runs in Linux guests only (systemd, statvfs, unix sockets, mount).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
