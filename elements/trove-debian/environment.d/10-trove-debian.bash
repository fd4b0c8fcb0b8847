# Debian 12 unless the caller names another release; the serial console for DIB's own bootloader element (our
# builder writes grub.cfg with the same console itself).
export DIB_RELEASE=${DIB_RELEASE:-bookworm}
export DIB_BOOTLOADER_DEFAULT_CMDLINE=${DIB_BOOTLOADER_DEFAULT_CMDLINE:-"console=tty0 console=ttyS0,115200 nofb nomodeset"}
