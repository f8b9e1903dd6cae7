"""Building a tokenized dataset: rendering, encoding, and the serial, overlapped, parallel and streamed builds."""
