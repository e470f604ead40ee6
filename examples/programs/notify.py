# Demo: a daemon that speaks sd_notify, as many existing daemons do.
import os, signal, socket, time

signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
print("warming up", flush=True)
time.sleep(0.2)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.sendto(b"READY=1\nSTATUS=serving notifications", os.environ["NOTIFY_SOCKET"])
print("told tend it is ready", flush=True)
while True:
    time.sleep(3600)
