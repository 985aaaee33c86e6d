# expect: blocked-import,blocked-import
import socket

s = socket.create_connection(('example.invalid', 80))
