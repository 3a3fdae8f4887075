/*
 * Runs the hearth-io firmware on an emulated ATmega328P (simavr) with its UART on a pseudo-terminal,
 * for the tests:
 *
 *   hearth_io_sim [--bootloader BOOT.hex] [--reset-on-open] FIRMWARE.elf|FIRMWARE.hex
 *
 * prints "PTY <path>" on stdout (after simavr's own notes), then runs the MCU until it is killed
 * (SIGTERM/SIGINT end it cleanly and remove the link simavr's uart_pty makes in /tmp).
 *
 * With no option the firmware is in flash and runs from address 0. --bootloader puts a bootloader (Debian's
 * Optiboot) in the boot section too and resets to it, as the BOOTRST fuse does on an Uno, so that avrdude can
 * write the application flash through it (simavr's flash module does SPM). --reset-on-open stands in for the
 * Uno's auto-reset circuit (see reset_on_open()).
 *
 * Built against Debian's libsimavr-dev and libsimavrparts (which carries the uart_pty part; its header
 * is in libsimavr-examples' examples tarball, see Makefile).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "avr_ioport.h"
#include "avr_uart.h"
#include "sim_avr.h"
#include "sim_elf.h"
#include "sim_hex.h"
#include "uart_pty.h"

#define FREQUENCY 16000000
#define CHECK_CYCLES (FREQUENCY / 1000) // how often the main loop looks at the port and the clock: 1 ms of MCU time

static uart_pty_t uart_pty;
static volatile sig_atomic_t stopping = 0;

static void on_signal(int sig) {
	(void)sig;
	stopping = 1;
}

static int ends_with(const char *s, const char *tail) {
	size_t n = strlen(s), m = strlen(tail);
	return n >= m && strcmp(s + n - m, tail) == 0;
}

/* Loads an Intel HEX file into flash at its addresses; returns the lowest address, or -1 (also when the file
 * runs past the end of flash, where simavr would abort: Debian's optiboot_atmega328.hex does). simavr notes
 * on stderr that it skips the start-address record avr-objcopy writes ("unsupported check type 03"). */
static long load_hex(avr_t *avr, const char *path) {
	ihex_chunk_p chunks;
	int count = read_ihex_chunks(path, &chunks);
	if (count <= 0) return -1;
	long lowest = -1;
	for (int i = 0; i < count; i++) {
		if (chunks[i].baseaddr + chunks[i].size > avr->flashend + 1) {
			fprintf(stderr, "%s: 0x%x bytes at 0x%x run past the end of flash\n", path, chunks[i].size, chunks[i].baseaddr);
			lowest = -1;
			break;
		}
		avr_loadcode(avr, chunks[i].data, chunks[i].size, chunks[i].baseaddr);
		if (lowest < 0 || chunks[i].baseaddr < lowest) lowest = chunks[i].baseaddr;
	}
	free_ihex_chunks(chunks);
	return lowest;
}

/* Loads the firmware (ELF, or Intel HEX by its name) into flash; returns 0 when done. */
static int load_firmware(avr_t *avr, const char *path) {
	if (ends_with(path, ".hex")) return load_hex(avr, path) < 0 ? -1 : 0;
	elf_firmware_t firmware = {0};
	if (elf_read_firmware(path, &firmware) != 0) return -1;
	avr_load_firmware(avr, &firmware);
	return 0;
}

/* A reset with MCUSR saying why, as the bootloader reads it: Optiboot stays only after an external reset
 * (EXTRF) and runs the application after any other (simavr sets WDRF itself on a watchdog reset). */
static void reset(avr_t *avr, avr_regbit_t flag) {
	avr_reset(avr);
	avr_regbit_set(avr, flag);
}

/*
 * The push button on D3 (PD3), released: its pin held high, as the pull-up holds a real one. simavr 1.6 zeroes
 * the PIN registers at a reset (the watchdog's too) but keeps each pin's last level and drops a raise to the
 * same level as no change, so the "1" the pull-up would give is lost and the firmware reads the button as
 * pressed. When the pin reads low, it is driven low and high again at once (between two instructions, so the
 * firmware never sees the low).
 */
#define BUTTON_PORT 'D'
#define BUTTON_BIT 3

static void hold_button_released(avr_t *avr, avr_irq_t *button) {
	avr_ioport_state_t state;
	if (avr_ioctl(avr, AVR_IOCTL_IOPORT_GETSTATE(BUTTON_PORT), &state) != 0 || (state.pin & (1 << BUTTON_BIT)) != 0) return;
	avr_raise_irq(button, 0);
	avr_raise_irq(button, 1);
}

/*
 * The stand-in for the Uno's auto-reset circuit. On a real Uno, opening the port asserts DTR and the
 * capacitor on DTR pulses RESET, so every open restarts the board into Optiboot (and avrdude's `-c arduino`
 * relies on it). A pty has no modem lines, so the harness resets the MCU (as an external reset) whenever
 * the pty's slave side is opened. It learns of an open through inotify's IN_OPEN on the slave's device node,
 * not through POLLHUP on the master: uart_pty keeps open the slave descriptor openpty() gave it, so the master
 * never sees a hang-up. Closing that descriptor is no way out: uart_pty's thread would then read EIO from the
 * master while no one has the port open, and it takes read()'s -1 for a length (buffer_len is a size_t).
 *
 * What the board sent while nobody had the port open is dropped at an open, as a USB serial adapter does, so
 * that an opener reads only what the board says after the reset: `slave` is the harness's own descriptor
 * of the slave side, to flush its input queue.
 */
struct reset_on_open {
	int watch; /* inotify descriptor, or -1 when the option is off */
	int slave;
};

static int reset_on_open_start(struct reset_on_open *r, const char *slavename) {
	r->slave = open(slavename, O_RDWR | O_NOCTTY | O_CLOEXEC); // before the watch, so this open is not seen
	r->watch = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (r->slave < 0 || r->watch < 0 || inotify_add_watch(r->watch, slavename, IN_OPEN) < 0) return -1;
	return 0;
}

/* True when the slave side was opened since the last call. */
static int reset_on_open_due(struct reset_on_open *r) {
	char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int opened = 0;
	while (read(r->watch, events, sizeof events) > 0) opened = 1;
	if (opened) tcflush(r->slave, TCIFLUSH);
	return opened;
}

/*
 * Keeps the MCU no faster than a real one, so that the bootloader's timeout (Optiboot waits about 1 s for
 * avrdude, counted by its watchdog in MCU time) lasts as long as on a board; simavr alone runs as fast as the
 * host allows. When the emulator falls behind (a slow or busy host) it does not race to catch up.
 */
static void pace(avr_t *avr, struct timespec *start) {
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long wall = (now.tv_sec - start->tv_sec) * 1000000000LL + (now.tv_nsec - start->tv_nsec);
	long long mcu = (long long)(avr->cycle * (1000000000.0 / avr->frequency));
	long long ahead = mcu - wall;
	if (ahead > 1000000) {
		struct timespec wait = {ahead / 1000000000LL, ahead % 1000000000LL};
		nanosleep(&wait, NULL);
	} else if (ahead < -10000000) {
		long long behind = -ahead; // forget the lag: move the start later by it
		start->tv_sec += behind / 1000000000LL;
		start->tv_nsec += behind % 1000000000LL;
		if (start->tv_nsec >= 1000000000L) {
			start->tv_sec++;
			start->tv_nsec -= 1000000000L;
		}
	}
}

int main(int argc, char *argv[]) {
	const char *bootloader = NULL;
	int want_reset_on_open = 0;
	int i = 1;
	for (; i < argc - 1; i++) {
		if (strcmp(argv[i], "--bootloader") == 0 && i + 2 < argc) bootloader = argv[++i];
		else if (strcmp(argv[i], "--reset-on-open") == 0) want_reset_on_open = 1;
		else break;
	}
	if (i != argc - 1) {
		fprintf(stderr, "usage: %s [--bootloader BOOT.hex] [--reset-on-open] FIRMWARE.elf|FIRMWARE.hex\n", argv[0]);
		return 2;
	}
	avr_t *avr = avr_make_mcu_by_name("atmega328p");
	if (avr == NULL) {
		fprintf(stderr, "%s: simavr has no atmega328p\n", argv[0]);
		return 1;
	}
	avr_init(avr);
	avr->frequency = FREQUENCY;
	if (load_firmware(avr, argv[i]) != 0) {
		fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[i]);
		return 1;
	}
	if (bootloader != NULL) {
		long start = load_hex(avr, bootloader);
		if (start < 0) {
			fprintf(stderr, "%s: cannot read %s\n", argv[0], bootloader);
			return 1;
		}
		avr->reset_pc = start; // BOOTRST: the reset vector is the start of the boot section
		reset(avr, avr->reset_flags.porf); // power on: Optiboot runs the application at once
	}
	avr->log = LOG_NONE;
	uart_pty_init(avr, &uart_pty);
	uart_pty_connect(&uart_pty, '0');
	if (bootloader != NULL) {
		// No sleep when the MCU polls its UART: pace() spares the host instead, and keeps the MCU's time
		// real (simavr's usleep on each poll would make Optiboot's 1 s wait last minutes).
		uint32_t flags = 0;
		avr_ioctl(avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
		flags &= ~AVR_UART_FLAG_POLL_SLEEP;
		avr_ioctl(avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
	}
	struct reset_on_open opens = {-1, -1};
	if (want_reset_on_open && reset_on_open_start(&opens, uart_pty.port[0].slavename) != 0) {
		perror("reset on open");
		return 1;
	}
	printf("PTY %s\n", uart_pty.port[0].slavename);
	fflush(stdout);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	avr_irq_t *button = avr_io_getirq(avr, AVR_IOCTL_IOPORT_GETIRQ(BUTTON_PORT), BUTTON_BIT);
	avr_raise_irq(button, 1);
	avr_cycle_count_t next_check = avr->cycle + CHECK_CYCLES;
	while (!stopping) {
		int state = avr_run(avr);
		if (state == cpu_Done || state == cpu_Crashed) break;
		if (avr->cycle < next_check) continue;
		next_check = avr->cycle + CHECK_CYCLES;
		if (opens.watch >= 0 && reset_on_open_due(&opens)) reset(avr, avr->reset_flags.extrf);
		hold_button_released(avr, button);
		if (bootloader != NULL) pace(avr, &start);
	}
	// Not uart_pty_stop(): it waits on its thread, which may sit in a read of the pty for ever. The link is
	// removed, and the pty closes with the process.
	unlink("/tmp/simavr-uart0");
	_exit(0);
}
