/*
 * The agency and technology filters past PORTAL_SELECT_LIMIT rows: a text box that the server
 * reads as a name (templates/partials/record_combobox.html). This script makes each one a
 * WAI-ARIA 1.2 combobox with a listbox popup and list autocomplete
 * (https://www.w3.org/WAI/ARIA/apg/patterns/combobox/): as the resident types, it asks the
 * box's choices endpoint (data-source, ?q=) for at most 20 names, shows them, and announces
 * how many it found in a polite live region. Choosing one puts its name in the box; the
 * form is submitted as usual and the server finds the record by that name.
 *
 * Keys: Down and Up open the list and move through it, Enter chooses, Escape closes the list
 * (or empties the box when it is closed), Home and End go to the first and last name while
 * one is highlighted. A mouse or a finger chooses with a click.
 *
 * Every word it shows comes from the box's data- attributes, translated by the template:
 * data-hint, and data-results-0 ... data-results-20 (the announcement for each count).
 * Without this script the text box still works.
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 200;
  var FOCUSED = "usa-combo-box__list-option--focused";

  function Combobox(root) {
    this.root = root;
    this.input = root.querySelector("input");
    this.listbox = root.querySelector('[role="listbox"]');
    this.status = root.querySelector('[role="status"]');
    this.source = root.getAttribute("data-source");
    this.options = [];
    this.active = -1;
    this.timer = null;
    this.request = null;
    this.asked = null;

    var input = this.input;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", this.listbox.id);
    var hint = root.querySelector(".usa-hint");
    if (hint && root.getAttribute("data-hint")) {
      hint.textContent = root.getAttribute("data-hint");
    }

    input.addEventListener("input", this.onInput.bind(this));
    input.addEventListener("keydown", this.onKeyDown.bind(this));
    input.addEventListener("blur", this.close.bind(this));
    // Keep the focus in the box while a name is clicked, so the list stays open until chosen.
    this.listbox.addEventListener("mousedown", function (event) {
      event.preventDefault();
    });
    this.listbox.addEventListener("click", this.onClick.bind(this));
    this.listbox.addEventListener("mousemove", this.onMouseMove.bind(this));
  }

  Combobox.prototype.isOpen = function () {
    return !this.listbox.hidden;
  };

  Combobox.prototype.onInput = function () {
    var self = this;
    window.clearTimeout(this.timer);
    if (!this.input.value.trim()) {
      this.abort();
      this.asked = null;
      this.show([]);
      this.close();
      return;
    }
    this.timer = window.setTimeout(function () {
      self.fetch(false);
    }, DEBOUNCE_MS);
  };

  Combobox.prototype.abort = function () {
    if (this.request) {
      this.request.abort();
      this.request = null;
    }
  };

  // Ask for the names matching what is typed; `highlight` is the option to highlight after
  // ("first", "last", or false for none).
  Combobox.prototype.fetch = function (highlight) {
    var self = this;
    var text = this.input.value.trim();
    window.clearTimeout(this.timer);
    if (text === this.asked && this.options.length) {
      this.open(highlight);
      return;
    }
    this.abort();
    var controller = "AbortController" in window ? new AbortController() : null;
    this.request = controller;
    var url = this.source + (this.source.indexOf("?") === -1 ? "?" : "&") + "q=" + encodeURIComponent(text);
    window
      .fetch(url, { headers: { Accept: "application/json" }, signal: controller ? controller.signal : undefined })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.json();
      })
      .then(function (data) {
        if (self.request !== controller) {
          return;
        }
        self.request = null;
        self.asked = text;
        self.show(data.results || []);
        self.announce(self.options.length);
        if (self.options.length && document.activeElement === self.input) {
          self.open(highlight);
        } else {
          self.close();
        }
      })
      .catch(function () {
        // An aborted or refused request leaves the box as it is: the server still reads it.
      });
  };

  Combobox.prototype.show = function (results) {
    var listbox = this.listbox;
    var id = listbox.id;
    while (listbox.firstChild) {
      listbox.removeChild(listbox.firstChild);
    }
    this.options = results.map(function (result, index) {
      var option = document.createElement("li");
      option.id = id + "-" + index;
      option.className = "usa-combo-box__list-option";
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.setAttribute("data-value", result.value);
      option.textContent = result.label;
      listbox.appendChild(option);
      return option;
    });
    this.active = -1;
    this.input.removeAttribute("aria-activedescendant");
  };

  Combobox.prototype.announce = function (count) {
    var words = this.root.getAttribute("data-results-" + count);
    if (words === null) {
      return;
    }
    // Emptied first, so the same count is announced again after another search.
    var status = this.status;
    status.textContent = "";
    window.setTimeout(function () {
      status.textContent = words;
    }, 50);
  };

  Combobox.prototype.open = function (highlight) {
    if (!this.options.length) {
      return;
    }
    this.listbox.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    if (highlight === "first") {
      this.highlight(0);
    } else if (highlight === "last") {
      this.highlight(this.options.length - 1);
    }
  };

  Combobox.prototype.close = function () {
    window.clearTimeout(this.timer);
    this.listbox.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.highlight(-1);
  };

  Combobox.prototype.highlight = function (index) {
    var previous = this.options[this.active];
    if (previous) {
      previous.setAttribute("aria-selected", "false");
      previous.classList.remove(FOCUSED);
    }
    this.active = index;
    var option = this.options[index];
    if (!option) {
      this.active = -1;
      this.input.removeAttribute("aria-activedescendant");
      return;
    }
    option.setAttribute("aria-selected", "true");
    option.classList.add(FOCUSED);
    this.input.setAttribute("aria-activedescendant", option.id);
    if (option.scrollIntoView) {
      option.scrollIntoView({ block: "nearest" });
    }
  };

  Combobox.prototype.choose = function (index) {
    var option = this.options[index];
    if (!option) {
      return;
    }
    this.input.value = option.textContent;
    this.asked = null;
    this.close();
    this.input.focus();
  };

  Combobox.prototype.move = function (step) {
    var count = this.options.length;
    this.highlight(this.active === -1 ? (step > 0 ? 0 : count - 1) : (this.active + step + count) % count);
  };

  Combobox.prototype.onKeyDown = function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    var open = this.isOpen();
    switch (event.key) {
      case "ArrowDown":
      case "ArrowUp":
        event.preventDefault();
        if (open) {
          this.move(event.key === "ArrowDown" ? 1 : -1);
        } else if (this.input.value.trim()) {
          this.fetch(event.key === "ArrowDown" ? "first" : "last");
        }
        break;
      case "Enter":
        // With a name highlighted, Enter chooses it; otherwise it submits the form as usual.
        if (open && this.active !== -1) {
          event.preventDefault();
          this.choose(this.active);
        }
        break;
      case "Escape":
        if (open) {
          event.preventDefault();
          this.close();
        } else if (this.input.value) {
          event.preventDefault();
          this.input.value = "";
          this.asked = null;
        }
        break;
      case "Home":
      case "End":
        if (open && this.active !== -1) {
          event.preventDefault();
          this.highlight(event.key === "Home" ? 0 : this.options.length - 1);
        }
        break;
      case "Tab":
        this.close();
        break;
      default:
        break;
    }
  };

  Combobox.prototype.onClick = function (event) {
    var option = event.target.closest('[role="option"]');
    if (option) {
      this.choose(this.options.indexOf(option));
    }
  };

  Combobox.prototype.onMouseMove = function (event) {
    var option = event.target.closest('[role="option"]');
    var index = option ? this.options.indexOf(option) : -1;
    if (index !== -1 && index !== this.active) {
      this.highlight(index);
    }
  };

  function start() {
    var boxes = document.querySelectorAll("[data-combobox]");
    for (var i = 0; i < boxes.length; i += 1) {
      if (!boxes[i].hasAttribute("data-combobox-ready") && "fetch" in window) {
        boxes[i].setAttribute("data-combobox-ready", "");
        new Combobox(boxes[i]);
      }
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
