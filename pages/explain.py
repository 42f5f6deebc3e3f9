"""Explain: placeholder until its issue lands."""
import streamlit as st

st.title("Explain")
st.caption("Why does the model decide what it decides?")
st.info("This page is being built.")
