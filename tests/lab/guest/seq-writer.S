# The inner VM of the lab's nested live migration (docs/lab.md, scenario vm-migration): a 64 KiB
# firmware image that QEMU runs from its reset vector, in real mode, with no BIOS and no OS.
#
# It writes sequence numbers 1, 2, 3, ... to its disk, one 512-byte sector each, through the
# legacy ATA controller's PIO ports (primary channel, master drive, LBA28 WRITE SECTORS), and
# after each write completes it prints the number in decimal and a newline on QEMU's debug
# console (port 0xe9, `-debugcon`). It never stops on its own. Sequence number n goes to sector
# RING_FIRST + ((n - 1) mod RING_SECTORS); every 32-bit word of the sector holds n except the
# first two, which hold the magic "PCSISEQW". A write that fails (ERR or DF in the status)
# prints "E" and the status byte in decimal and halts.
#
# The guest knows nothing of migration: its whole state is the registers, the sequence number
# in RAM and the devices, all of which QEMU migrates. So the debug-console output of the source
# followed by that of the destination is one unbroken line sequence 1..N, and the disk holds
# 1..N (the last RING_SECTORS of them once the ring wraps).
#
# Assembled by tests/lab/build-guest-image.sh with GNU as (--32, 16-bit code) into a flat file
# passed to QEMU as `-bios`: QEMU maps the image's last 64 KiB below 1 MiB (segment 0xf000) and
# at the top of the 4 GiB space, where the CPU starts at 0xfffffff0, the reset vector at the
# end of this file, which jumps to `start` in segment 0xf000.
# The ATA protocol followed is the ATA/ATAPI-6 PIO data-out protocol (status bits BSY 0x80,
# DRQ 0x08, DF 0x20, ERR 0x01), as QEMU's hw/ide/core.c implements it.

        .set RING_FIRST, 32768           # 16 MiB into the disk
        .set RING_SECTORS, 16384         # 8 MiB ring; a power of two
        .set BUFFER, 0x1000              # the sector being written, in low RAM
        .set SEQUENCE, 0x0800            # the last sequence number written (32 bits)
        .set ATA_DATA, 0x1f0
        .set ATA_CONTROL, 0x3f6
        .set DEBUG_PORT, 0xe9

        .code16
        .text
        .globl start
start:
        cli
        xorw %ax, %ax
        movw %ax, %ds
        movw %ax, %es
        movw %ax, %ss
        movw $0x7000, %sp
        cld
        movl $0, SEQUENCE
        movb $0x02, %al                  # nIEN: the drive raises no interrupt, we poll
        movw $ATA_CONTROL, %dx
        outb %al, %dx
        movw $banner, %si
print_banner:
        movb %cs:(%si), %al
        testb %al, %al
        jz next
        outb %al, $DEBUG_PORT
        incw %si
        jmp print_banner

next:
        movl SEQUENCE, %eax
        incl %eax
        movl %eax, SEQUENCE
        movw $BUFFER, %di                # the sector: n in every word ...
        movw $128, %cx
        rep stosl
        movl $0x49534350, BUFFER         # ... but the first two: "PCSI" "SEQW"
        movl $0x57514553, BUFFER + 4
        decl %eax                        # LBA = RING_FIRST + ((n - 1) mod RING_SECTORS)
        andl $(RING_SECTORS - 1), %eax
        addl $RING_FIRST, %eax
        call ata_write_sector
        movl SEQUENCE, %eax
        call print_decimal
        jmp next

# Writes the 512 bytes at BUFFER to sector %eax (LBA28) of the primary master; halts on error.
ata_write_sector:
        movl %eax, %ebx
        call ata_wait_not_busy
        movw $ATA_DATA + 6, %dx          # drive/head: LBA mode, master, LBA bits 24-27
        movl %ebx, %eax
        shrl $24, %eax
        andb $0x0f, %al
        orb $0xe0, %al
        outb %al, %dx
        movw $ATA_DATA + 2, %dx          # sector count
        movb $1, %al
        outb %al, %dx
        incw %dx                         # LBA bits 0-7, 8-15, 16-23
        movb %bl, %al
        outb %al, %dx
        incw %dx
        movb %bh, %al
        outb %al, %dx
        incw %dx
        movl %ebx, %eax
        shrl $16, %eax
        outb %al, %dx
        movw $ATA_DATA + 7, %dx          # command: WRITE SECTORS
        movb $0x30, %al
        outb %al, %dx
wait_drq:
        inb %dx, %al
        testb $0x80, %al
        jnz wait_drq
        testb $0x21, %al
        jnz ata_failed
        testb $0x08, %al
        jz wait_drq
        movw $ATA_DATA, %dx
        movw $BUFFER, %si
        movw $256, %cx
        rep outsw
        call ata_wait_not_busy           # the drive has the data once BSY clears
        ret

# Waits until BSY is clear; halts when the drive reports an error.
ata_wait_not_busy:
        movw $ATA_DATA + 7, %dx
1:      inb %dx, %al
        testb $0x80, %al
        jnz 1b
        testb $0x21, %al
        jnz ata_failed
        ret

ata_failed:
        movzbl %al, %ebx
        movb $'E', %al
        outb %al, $DEBUG_PORT
        movl %ebx, %eax
        call print_decimal
halt:
        hlt
        jmp halt

# Prints %eax in decimal and a newline on the debug console.
print_decimal:
        movl $10, %ebx
        xorw %cx, %cx
1:      xorl %edx, %edx
        divl %ebx
        pushw %dx
        incw %cx
        testl %eax, %eax
        jnz 1b
2:      popw %ax
        addb $'0', %al
        outb %al, $DEBUG_PORT
        loop 2b
        movb $'\n', %al
        outb %al, $DEBUG_PORT
        ret

banner:
        .asciz "seq-writer: start\n"

        .org 0xfff0                      # the reset vector: CS base 0xffff0000, IP 0xfff0
        ljmp $0xf000, $start
        .org 0x10000
