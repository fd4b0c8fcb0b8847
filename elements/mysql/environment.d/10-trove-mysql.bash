# Debian 12 ships no MySQL server: it comes from Oracle's APT repository. Both must be given by whoever builds:
#   DIB_MYSQL_APT_SOURCE   e.g. "deb http://repo.mysql.com/apt/debian bookworm mysql-8.0"
#   DIB_MYSQL_APT_KEYRING  the repository's signing key (a .gpg keyring file on the build host)
export DIB_MYSQL_APT_SOURCE=${DIB_MYSQL_APT_SOURCE:-}
export DIB_MYSQL_APT_KEYRING=${DIB_MYSQL_APT_KEYRING:-}
