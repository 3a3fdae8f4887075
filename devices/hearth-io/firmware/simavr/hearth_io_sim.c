/*
 * Runs the hearth-io firmware on an emulated ATmega328P (simavr) with its UART on a pseudo-terminal,
 * for the tests: `hearth_io_sim FIRMWARE.elf` prints "PTY <path>" on stdout (after simavr's own notes), then runs the MCU until
 * it is killed (SIGTERM/SIGINT end it cleanly and remove the link simavr's uart_pty makes in /tmp).
 * Built against Debian's libsimavr-dev and libsimavrparts (which carries the uart_pty part; its header
 * is in libsimavr-examples' examples tarball, see Makefile).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sim_avr.h"
#include "sim_elf.h"
#include "uart_pty.h"

static uart_pty_t uart_pty;
static volatile sig_atomic_t stopping = 0;

static void on_signal(int sig) {
	(void)sig;
	stopping = 1;
}

int main(int argc, char *argv[]) {
	if (argc != 2) {
		fprintf(stderr, "usage: %s FIRMWARE.elf\n", argv[0]);
		return 2;
	}
	elf_firmware_t firmware = {0};
	if (elf_read_firmware(argv[1], &firmware) != 0) {
		fprintf(stderr, "%s: cannot read %s\n", argv[0], argv[1]);
		return 1;
	}
	avr_t *avr = avr_make_mcu_by_name("atmega328p");
	if (avr == NULL) {
		fprintf(stderr, "%s: simavr has no atmega328p\n", argv[0]);
		return 1;
	}
	avr_init(avr);
	avr->frequency = 16000000;
	avr_load_firmware(avr, &firmware);
	avr->log = LOG_NONE;
	uart_pty_init(avr, &uart_pty);
	uart_pty_connect(&uart_pty, '0');
	printf("PTY %s\n", uart_pty.port[0].slavename);
	fflush(stdout);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!stopping) {
		int state = avr_run(avr);
		if (state == cpu_Done || state == cpu_Crashed) break;
	}
	// Not uart_pty_stop(): it waits on its thread, which may sit in a read of the pty for ever. The link is
	// removed, and the pty closes with the process.
	unlink("/tmp/simavr-uart0");
	_exit(0);
}
