"""The token store on disk: keys, memory-mapped entries, and the folder that holds them."""
