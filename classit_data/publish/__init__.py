"""``push``: publish a built dataset folder to the Hugging Face Hub."""

from classit_data.publish.push import push_dataset

__all__ = ["push_dataset"]
