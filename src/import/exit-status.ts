// systemd's names of exit statuses (systemd.exec(5) "Process Exit Codes"): the C
// library's, the LSB's for init scripts and BSD's sysexits.h, which `SuccessExitStatus=`
// takes beside numbers and signal names. tend's `success-exit` takes numbers and signal
// names: a name becomes its number.

const EXIT_NAMES: Readonly<Record<string, number>> = {
  // C library
  SUCCESS: 0,
  FAILURE: 1,
  // LSB
  INVALIDARGUMENT: 2,
  NOTIMPLEMENTED: 3,
  NOPERMISSION: 4,
  NOTINSTALLED: 5,
  NOTCONFIGURED: 6,
  NOTRUNNING: 7,
  // BSD sysexits.h
  USAGE: 64,
  DATAERR: 65,
  NOINPUT: 66,
  NOUSER: 67,
  NOHOST: 68,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  OSERR: 71,
  OSFILE: 72,
  CANTCREAT: 73,
  IOERR: 74,
  TEMPFAIL: 75,
  PROTOCOL: 76,
  NOPERM: 77,
  CONFIG: 78,
};

/** The number of a systemd exit status name (`DATAERR` → 65), or undefined for any other word. */
export const exitStatusNumber = (word: string): number | undefined => (Object.hasOwn(EXIT_NAMES, word) ? EXIT_NAMES[word] : undefined);
