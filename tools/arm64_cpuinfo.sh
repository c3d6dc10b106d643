# Sourced by tools/arm64_check.sh and tools/pi_install_check.sh: what both do to the emulated root.
# arm64_cpuinfo CPU ROOTFS: write the /proc/cpuinfo that onnxruntime's cpuinfo reads inside the
# emulated root, so its kernel choice matches the CPU QEMU emulates (cortex-a72: Pi 4, no
# dot-product; cortex-a76: Pi 5, asimddp; cortex-a53).
arm64_cpuinfo() {
  local part features
  case $1 in
    cortex-a76) part=0xd0b; features="fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp";;
    cortex-a53) part=0xd03; features="fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid";;
    *)          part=0xd08; features="fp asimd evtstrm crc32 cpuid";;
  esac
  printf 'processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: %s\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: %s\nCPU revision\t: 3\n\n' \
    "$features" "$part" > "$2/proc/cpuinfo"
}

# arm64_mirror ROOTFS PATH...: copy host files or folders to the same absolute paths inside the root.
# QEMU's -L prefix makes the emulated process open ROOTFS/PATH whenever it exists, so a copy left by
# an earlier run would silently shadow the host file (a stale model read on ARM, compared against
# the new one on x86): every run replaces the copies of the paths it uses.
arm64_mirror() {
  local root=$1 path; shift
  for path in "$@"; do
    mkdir -p "$root$(dirname "$path")"; rm -rf "${root:?}$path"; cp -r "$path" "$root$path"
  done
}
