/*
 * Editor code shared by the @jkpb/node-red-jkbms node dialogs: the pack picker (jkbms,
 * jkbms-request, jkbms-write) and the serial port picker (jkbms-bus).
 *
 * Node-RED serves this folder at resources/@jkpb/node-red-jkbms/; each node's .html loads it
 * with a relative URL before its registerType, so it works under any httpAdminRoot and behind
 * the Home Assistant add-on's ingress prefix. The admin endpoints it calls are relative too.
 */
(function () {
    'use strict';
    if (window.JKBMS) { return; } // every node set loads this file; the first one defines it

    /** A function(text) that shows `text` in the tip below a field, or hides the tip for ''. */
    function noteIn(selector) {
        return function (text) {
            $(selector).text(text).toggle(!!text);
        };
    }

    /**
     * Suggestions for a text input that still takes free text (jQuery UI autocomplete): the
     * list comes from `o.load(done)` on first use and is kept until `reset()`; the search button
     * `o.button` loads it afresh and shows all of it.
     *   o.input   jQuery input; o.button selector
     *   o.load    function (done) — calls done(list)
     *   o.items   function (list, term) — the autocomplete items ({label, value, ...})
     *   o.select  optional function (item) — called after a pick
     */
    function suggest(o) {
        var list = null;
        o.input.autocomplete({
            minLength: 0,
            source: function (request, response) {
                function answer() { response(o.items(list, request.term || '')); }
                if (list === null) {
                    o.load(function (loaded) { list = loaded; answer(); });
                } else {
                    answer();
                }
            },
            select: function (event, ui) {
                if (o.select && ui.item) { o.select(ui.item); }
            }
        });
        $(o.button).on('click', function (e) {
            e.preventDefault();
            list = null;
            o.input.autocomplete('search', '');
            o.input.trigger('focus');
        });
        return { reset: function () { list = null; } };
    }

    /** For oneditsave and oneditcancel: remove the suggestions from the input. */
    function closePicker(selector) {
        var input = $(selector);
        if (input.data('ui-autocomplete')) { input.autocomplete('destroy'); }
    }

    /**
     * The address picker of a node with a `bus` and an `address` field: the packs the selected
     * bus has seen (GET jkbms/packs?bus=<id>), loaded again after a change of bus.
     *   opts.button        the search button's selector
     *   opts.unidentified  text for a pack without device info yet
     *   opts.all           optional: offer "all" first, with this label
     *   opts.skipMaster    optional: leave out the JK master (address 0)
     *   opts.offline       optional: mark offline packs with this text
     *   opts.note          optional: selector of a tip that says why the list is empty, with
     *   opts.keys          the catalog prefix of no-bus | not-running | none | failed
     *   opts.select        optional: function (item) after a pick (item.serial: the pack's serial)
     */
    function packPicker(node, opts) {
        var show = opts.note ? noteIn(opts.note) : null;
        function note(reason) {
            if (show) { show(reason ? node._(opts.keys + reason) : ''); }
        }
        var picker = suggest({
            input: $('#node-input-address'),
            button: opts.button,
            load: function (done) {
                var bus = $('#node-input-bus').val();
                if (!bus || bus === '_ADD_') { note('no-bus'); done([]); return; }
                $.getJSON('jkbms/packs', { bus: bus }).done(function (r) {
                    var packs = ((r && r.packs) || []).map(function (p) {
                        return $.extend({}, p, { simulated: !!r.simulated });
                    });
                    note(!(r && r.running) ? 'not-running' : packs.length ? '' : 'none');
                    done(packs);
                }).fail(function () {
                    note('failed');
                    done([]);
                });
            },
            items: function (packs) {
                var items = opts.all ? [{ label: opts.all, value: 'all' }] : [];
                packs.forEach(function (p) {
                    if (opts.skipMaster && p.isMaster) { return; }
                    // A simulated bus says so in every list, so nobody takes its packs for real ones.
                    var known = [p.simulated ? 'simulated' : null, p.model, p.serial, opts.offline && !p.online ? opts.offline : null].filter(Boolean).join(', ');
                    items.push({ label: p.address + ' — ' + (known || opts.unidentified), value: String(p.address), serial: p.serial });
                });
                return items;
            },
            select: opts.select
        });
        $('#node-input-bus').on('change', picker.reset);
    }

    /**
     * The serial port picker of the bus dialog: the runtime's port list (GET jkbms/ports),
     * filtered by what is typed. Free text stays allowed.
     *   opts.input, opts.button, opts.note  selectors; opts.keys  catalog prefix of
     *   loading | none | failed
     */
    function portPicker(node, opts) {
        var note = noteIn(opts.note);
        suggest({
            input: $(opts.input),
            button: opts.button,
            load: function (done) {
                note(node._(opts.keys + 'loading'));
                $.getJSON('jkbms/ports').done(function (list) {
                    var ports = Array.isArray(list) ? list : [];
                    note(ports.length ? '' : node._(opts.keys + 'none'));
                    done(ports);
                }).fail(function () {
                    note(node._(opts.keys + 'failed'));
                    done([]);
                });
            },
            items: function (ports, text) {
                var term = text.toLowerCase();
                return ports.filter(function (p) {
                    return !term || p.path.toLowerCase().indexOf(term) !== -1 || p.device.toLowerCase().indexOf(term) !== -1;
                }).map(function (p) {
                    var extra = [];
                    if (p.byId) { extra.push(p.device); }
                    if (p.manufacturer) { extra.push(p.manufacturer); }
                    return { label: p.path + (extra.length ? '  (' + extra.join(', ') + ')' : ''), value: p.path };
                });
            }
        });
    }

    /** A pack address as typed in a dialog: 0–15, or also "all" when `allowAll`. */
    function isAddress(v, allowAll) {
        var s = String(v).trim();
        var n = Number(s);
        return (allowAll && s === 'all') || (s !== '' && Number.isInteger(n) && n >= 0 && n <= 15);
    }

    window.JKBMS = {
        packPicker: packPicker,
        portPicker: portPicker,
        closePicker: closePicker,
        isAddress: isAddress
    };
})();
