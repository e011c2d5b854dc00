{
  "targets": [
    {
      "target_name": "lvsd_socket",
      "sources": ["src/native/lvsd_socket.c"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"]
    }
  ]
}
