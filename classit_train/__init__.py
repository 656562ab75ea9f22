"""classit-train: pretrain, instruction-tune and evaluate BabyLMs on CLASS-IT."""
