def image_ref: "\(.repository)@\(.digest)";
def signer_names: [.signers[]?.name] | sort;
