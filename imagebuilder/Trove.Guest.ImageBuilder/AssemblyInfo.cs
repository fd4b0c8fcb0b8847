// Guest images are built on Linux hosts (chroot, mkfs, loop-free disk assembly).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
